"""The one error tree of modelport.

Every error carries a stable ``code`` (part of the public API: clients match on it)
and, where it is about input, a list of :class:`FieldError` naming the record,
the field and the reason. Nothing here knows about HTTP; the server maps codes
to status codes.

    ModelportError
    ├── InvalidInput           invalid_input       the caller's data breaks the contract
    │   ├── MalformedRequest   malformed_request   not JSON, wrong shape, empty or too long
    │   └── PayloadTooLarge    payload_too_large
    ├── NotFound               not_found
    │   ├── ModelNotFound      model_not_found
    │   ├── AliasNotFound      alias_not_found
    │   ├── VersionNotFound    version_not_found
    │   └── EntityNotFound     entity_not_found    no row for the entity in a feature source
    ├── InvalidName            invalid_name        a name, alias or reference breaks the pattern
    ├── PackageError           package_error       a package cannot be built or read
    │   ├── IntegrityError     integrity_error     a digest does not match: modified package
    │   ├── UnsafeArchive      unsafe_archive      an archive member escapes, links or is too big
    │   ├── SignatureError     signature_error     unsigned, or not signed by a trusted key
    │   ├── UnsupportedModel   unsupported_model   a pipeline step modelport cannot convert
    │   └── ParityError        parity_failed       the packaged model disagrees with the original
    ├── RegistryError          registry_error
    │   ├── AlreadyExists      already_exists
    │   ├── Conflict           conflict            the alias moved while this ran; nothing changed
    │   ├── GatedAlias         gated_alias         a direct move of an alias that has a gate policy
    │   └── InUse              in_use              e.g. deleting a version an alias points at
    ├── PromotionRefused       promotion_refused   a promotion gate failed; the alias did not move
    ├── FeatureSourceUnavailable feature_source_unavailable  a source is down or timed out
    ├── BatchError             batch_error
    ├── EvaluationError        evaluation_error    test data or a metric a promotion gate cannot use
    ├── ConfigurationError     configuration_error settings that cannot work together
    │   └── MissingExtra       missing_extra       an optional extra is not installed
    ├── Unauthenticated        unauthenticated     no credentials, or ones that do not verify
    ├── Forbidden              forbidden           the credentials lack the scope this needs
    ├── RateLimited            rate_limited        too many requests; ``retry_after`` seconds
    └── RequestTimeout         request_timeout     the request took longer than allowed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AliasNotFound",
    "AlreadyExists",
    "BatchError",
    "ConfigurationError",
    "Conflict",
    "EntityNotFound",
    "EvaluationError",
    "FeatureSourceUnavailable",
    "FieldError",
    "Forbidden",
    "GatedAlias",
    "InUse",
    "MAX_LISTED_ERRORS",
    "IntegrityError",
    "InvalidInput",
    "InvalidName",
    "JobChanged",
    "MalformedRequest",
    "MissingExtra",
    "ModelNotFound",
    "ModelportError",
    "NotFound",
    "PackageError",
    "ParityError",
    "PayloadTooLarge",
    "PromotionRefused",
    "RateLimited",
    "RegistryError",
    "RequestTimeout",
    "SignatureError",
    "Unauthenticated",
    "UnsafeArchive",
    "UnsupportedModel",
    "VersionNotFound",
]


MAX_LISTED_ERRORS = 1000  # an answer lists at most this many field errors


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason one record was refused."""

    record: int | None
    field: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "field": self.field, "reason": self.reason}

    def __str__(self) -> str:
        where = []
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.field is not None:
            where.append(self.field)
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class ModelportError(Exception):
    """Base of every error modelport raises on purpose."""

    code = "modelport_error"

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[FieldError] = list(errors or [])

    def __reduce__(self) -> tuple[Any, ...]:
        # errors cross process boundaries (batch worker processes, Dask workers): rebuild
        # them with every attribute, whatever their constructor takes
        return (_rebuild, (type(self), self.message), self.__dict__)

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        return f"{self.message}: {shown}{more}"


def _rebuild(kind: type[ModelportError], message: str) -> ModelportError:
    error = kind.__new__(kind)
    Exception.__init__(error, message)
    return error


class InvalidInput(ModelportError):
    code = "invalid_input"


class MalformedRequest(InvalidInput):
    code = "malformed_request"


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"


class NotFound(ModelportError):
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class AliasNotFound(NotFound):
    code = "alias_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class InvalidName(ModelportError):
    code = "invalid_name"


class PackageError(ModelportError):
    code = "package_error"


class IntegrityError(PackageError):
    code = "integrity_error"


class UnsafeArchive(PackageError):
    code = "unsafe_archive"


class SignatureError(PackageError):
    """Signatures are required and the package has none from a trusted key, or a bad one."""

    code = "signature_error"


class UnsupportedModel(PackageError):
    code = "unsupported_model"


class ParityError(PackageError):
    code = "parity_failed"


class RegistryError(ModelportError):
    code = "registry_error"


class AlreadyExists(RegistryError):
    code = "already_exists"


class Conflict(RegistryError):
    """Someone else changed what this operation read first (e.g. moved the alias)."""

    code = "conflict"


class GatedAlias(RegistryError):
    """A direct move of an alias whose gate policy only a promotion may satisfy."""

    code = "gated_alias"


class InUse(RegistryError):
    """The object is still referenced (e.g. a version an alias points at)."""

    code = "in_use"


class PromotionRefused(ModelportError):
    """A promotion gate failed; the alias did not move. ``gates`` holds every result."""

    code = "promotion_refused"

    def __init__(self, message: str, gates: list[Any] | None = None) -> None:
        super().__init__(message)
        self.gates: list[Any] = list(gates or [])


class EntityNotFound(NotFound):
    """No row for the entity in a feature source the model needs."""

    code = "entity_not_found"


class FeatureSourceUnavailable(ModelportError):
    """A feature source is down or too slow; ``source`` names it."""

    code = "feature_source_unavailable"

    def __init__(self, message: str, source: str) -> None:
        super().__init__(message)
        self.source = source


class BatchError(ModelportError):
    code = "batch_error"


class JobChanged(BatchError):
    """A job directory holds another job's work (another input, package or option)."""

    code = "job_changed"


class EvaluationError(ModelportError):
    code = "evaluation_error"


class ConfigurationError(ModelportError):
    """Settings that cannot work together, e.g. JWT authentication without a key."""

    code = "configuration_error"


class MissingExtra(ConfigurationError):
    """What was asked for needs an optional extra that is not installed.

    The message is one line naming the extra and the command that installs it; see
    :func:`modelport.extras.require`.
    """

    code = "missing_extra"


class Unauthenticated(ModelportError):
    """No credentials, or credentials that do not verify (expired, wrong key, revoked)."""

    code = "unauthenticated"


class Forbidden(ModelportError):
    """Valid credentials without the scope the operation needs."""

    code = "forbidden"


class RateLimited(ModelportError):
    """The principal sent more requests than its rate allows; retry after ``retry_after`` s."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeout(ModelportError):
    """The request (its body, or its answer) took longer than the server allows."""

    code = "request_timeout"

    def __init__(self, message: str, *, reading: bool = False) -> None:
        super().__init__(message)
        self.reading = reading  # the body was still arriving (a slow client, not the server)

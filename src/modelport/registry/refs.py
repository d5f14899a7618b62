"""Model references: ``NAME`` (its production alias), ``NAME@ALIAS`` or ``NAME:VERSION``.

References arrive from URLs, command lines and configuration files, so they are parsed
strictly here, once: every name and alias must pass :func:`check_name` and a version is
a positive whole number that fits any database's 32-bit integer column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelport.errors import InvalidName
from modelport.package.manifest import check_name

__all__ = ["DEFAULT_ALIAS", "MAX_VERSION", "ModelRef", "check_version", "parse_ref"]

DEFAULT_ALIAS = "production"
MAX_VERSION = 2**31 - 1
_MAX_REF_LENGTH = 160
_REF = re.compile(r"(?P<name>[^@:]*)(?:@(?P<alias>[^@:]*)|:(?P<version>[^@:]*))?")
_VERSION = re.compile(r"[1-9][0-9]{0,9}")


def check_version(version: object) -> int:
    """A version number is a positive int (not a bool, not a string) within 32 bits."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise InvalidName(f"invalid version {version!r}: use a positive whole number")
    return version


@dataclass(frozen=True)
class ModelRef:
    """One model version, named by alias or by number; exactly one of the two is set.

    ``ModelRef("loan")`` means ``loan@production``, the same as ``parse_ref("loan")``.
    """

    name: str
    alias: str | None = None
    version: int | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.alias is None and self.version is None:
            object.__setattr__(self, "alias", DEFAULT_ALIAS)
        elif self.alias is not None and self.version is not None:
            raise InvalidName(
                f"invalid model reference for {self.name!r}: give an alias or a version, not both"
            )
        if self.alias is not None:
            check_name(self.alias, "alias")
        if self.version is not None:
            check_version(self.version)

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return f"{self.name}@{self.alias}"


def parse_ref(text: str) -> ModelRef:
    """Parse ``NAME``, ``NAME@ALIAS`` or ``NAME:VERSION``; anything else is :class:`InvalidName`."""
    if not isinstance(text, str) or len(text) > _MAX_REF_LENGTH:
        shown = text if not isinstance(text, str) else text[:40] + "..."
        raise InvalidName(
            f"invalid model reference {shown!r}: expected NAME, NAME@ALIAS or NAME:VERSION"
        )
    match = _REF.fullmatch(text)
    if match is None:
        raise InvalidName(
            f"invalid model reference {text!r}: expected NAME, NAME@ALIAS or NAME:VERSION"
        )
    version = match["version"]
    if version is not None:
        if not _VERSION.fullmatch(version) or int(version) > MAX_VERSION:
            raise InvalidName(
                f"invalid model reference {text!r}: the version after ':' must be a positive "
                "whole number"
            )
        return ModelRef(match["name"], version=int(version))
    return ModelRef(match["name"], alias=match["alias"])

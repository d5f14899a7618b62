"""Schedule files: batch jobs declared in YAML, checked whole before anything runs.

    # schedules.yaml
    timezone: Europe/Paris          # cron times and {date} in this zone (default UTC)
    on_failure:                     # every job's report after its last retry (optional)
      webhook: https://hooks.example.com/modelport/${HOOK_TOKEN}
    jobs:
      nightly-applications:
        cron: "0 2 * * *"
        model: loan-approval@production
        input: incoming/applications-{date:%Y-%m-%d}.parquet
        output: scores/applications-{date:%Y-%m-%d}.parquet
        carry: [id]
        retries: 3
        backoff: {initial: 30s, factor: 2, max: 10m}
        timeout: 1h

Relative paths (inputs, outputs, rejects, sources, a package path given as ``model``) are
relative to the schedule file's directory, so the file means the same whatever directory
the scheduler starts in. ``${NAME}`` is replaced by the environment variable ``NAME`` (a
variable that is not set is an error), so tokens stay out of the file. A mistake is
reported with the file, the job and the field; unknown keys are mistakes too.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from modelport.config_files import expand_variables, read_yaml
from modelport.errors import BatchError
from modelport.schedule.durations import parse_duration
from modelport.schedule.templates import check_template

__all__ = ["Backoff", "JobSpec", "OnFailure", "Schedule", "load_schedule"]

Duration = Annotated[float, BeforeValidator(parse_duration)]
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_GLOB = frozenset("*?[")
_TEMPLATES = frozenset({"input", "output", "rejects"})  # fields rendered as path templates


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Backoff(_Strict):
    """Wait ``initial`` after the first failed attempt, ``factor`` times longer after each
    next one, never more than ``max``."""

    initial: Duration = 30.0
    factor: float = Field(default=2.0, ge=1.0, le=100.0)
    max: Duration = 600.0

    def delay(self, failed_attempt: int) -> float:
        """Seconds to wait after attempt number ``failed_attempt`` (1-based) failed."""
        delay = self.initial
        for _ in range(max(failed_attempt - 1, 0)):
            delay *= self.factor
            if delay >= self.max:
                break
        return min(delay, self.max)


class OnFailure(_Strict):
    """Where a run that failed after its retries is reported."""

    webhook: str
    timeout: Duration = 10.0

    @field_validator("webhook")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook must be an http:// or https:// URL")
        return url


class JobSpec(_Strict):
    """One scheduled batch job: when, which model, which files, and how hard to try."""

    name: str
    cron: str
    model: str = Field(min_length=1)
    input: str = Field(min_length=1)
    output: str = Field(min_length=1)
    rejects: str | None = None
    carry: list[str] | None = None
    ignore_extra: bool = False
    chunk_rows: int | None = Field(default=None, ge=1)
    workers: int | None = Field(default=None, ge=1)
    sources: str | None = None
    retries: int = Field(default=0, ge=0, le=100)
    backoff: Backoff = Backoff()
    timeout: Duration | None = None
    on_failure: OnFailure | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _JOB_NAME.fullmatch(name):
            raise ValueError(
                "a job name is 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        return name

    @field_validator("cron")
    @classmethod
    def _cron(cls, expression: str) -> str:
        if not croniter.is_valid(expression):
            raise ValueError(
                f"{expression!r} is not a cron expression (minute hour day month weekday, "
                "e.g. '0 2 * * *' for 02:00 every day)"
            )
        return expression

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, seconds: float | None) -> float | None:
        if seconds is not None and seconds <= 0:
            raise ValueError("a timeout must be longer than zero (leave it out for none)")
        return seconds

    @model_validator(mode="after")
    def _templates(self) -> JobSpec:
        check_template(self.input, ("date", "job"))
        used = check_template(self.output)
        if self.rejects is not None:
            used |= check_template(self.rejects)
        if self.is_glob and "stem" not in check_template(self.output):
            raise ValueError(
                f"input {self.input!r} is a glob, so each matching file is scored into its "
                "own output: put {stem} (the file's name without its suffix) in the output"
            )
        if self.is_glob and self.rejects is not None and "stem" not in check_template(self.rejects):
            raise ValueError("input is a glob: put {stem} in rejects too, or leave rejects out")
        if "stem" in used and "://" in self.input:
            raise ValueError("{stem} needs a local input path, not a URL")
        return self

    @property
    def is_glob(self) -> bool:
        return "://" not in self.input and any(c in _GLOB for c in self.input)

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled time after ``moment`` (aware, in ``moment``'s zone)."""
        return croniter(self.cron, moment).get_next(datetime)  # type: ignore[no-any-return]

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The last scheduled time at or before ``moment``."""
        upcoming = self.next_after(moment)
        return croniter(self.cron, upcoming).get_prev(datetime)  # type: ignore[no-any-return]


class Schedule(_Strict):
    """A schedule file, loaded: its jobs by name, their zone, where its paths start."""

    jobs: dict[str, JobSpec]
    timezone: str = "UTC"
    on_failure: OnFailure | None = None
    directory: Path = Path(".")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a time zone (e.g. UTC, Europe/Paris)") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def report_to(self, job: JobSpec) -> OnFailure | None:
        """The job's own ``on_failure``, else the file's."""
        return job.on_failure or self.on_failure

    def select(self, names: list[str] | None) -> list[JobSpec]:
        """The jobs named (all if none), in the file's order; an unknown name is an error."""
        if not names:
            return list(self.jobs.values())
        unknown = [n for n in names if n not in self.jobs]
        if unknown:
            raise BatchError(
                f"no job {', '.join(map(repr, unknown))} in the schedule; it has "
                f"{', '.join(self.jobs) or 'no jobs'}"
            )
        return [self.jobs[n] for n in dict.fromkeys(names)]


def load_schedule(path: str | Path) -> Schedule:
    """The schedule in ``path``; a :class:`BatchError` naming the job and field if wrong."""
    path = Path(path)
    loaded = read_yaml(path, "schedule", BatchError)
    if not isinstance(loaded, dict) or not isinstance(loaded.get("jobs"), dict):
        raise BatchError(
            f"{path}: a schedule file is a mapping with `jobs:`, a mapping of job names to "
            "jobs (cron, model, input, output, ...); see docs/schedules.md"
        )
    raw_jobs = loaded.pop("jobs")
    settings = expand_variables(loaded, path, BatchError)
    jobs: dict[str, JobSpec] = {}
    for name, job in raw_jobs.items():
        if not isinstance(job, dict):
            raise BatchError(f"{path}: job {name!r} must be a mapping (cron, model, input, ...)")
        job = {
            key: expand_variables(
                value, path, BatchError, _literal_braces if key in _TEMPLATES else None
            )
            for key, value in job.items()
        }
        try:
            jobs[str(name)] = JobSpec(name=str(name), **job)
        except ValidationError as exc:
            raise BatchError(f"{path}: job {name!r}: {_first(exc)}") from None
        except TypeError:  # e.g. a key `name` given twice
            raise BatchError(f"{path}: job {name!r}: `name` comes from the job's key") from None
    try:
        return Schedule(jobs=jobs, directory=path.resolve().parent, **settings)
    except ValidationError as exc:
        raise BatchError(f"{path}: {_first(exc)}") from None
    except TypeError:
        raise BatchError(f"{path}: `directory` is where the file is; leave it out") from None


def _literal_braces(text: str) -> str:
    """``text`` as literal template text: a secret holding ``{`` is not a placeholder."""
    return text.replace("{", "{{").replace("}", "}}")


def _first(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    return f"{where}: {message}" if where else message

"""Durations in schedule files: ``30s``, ``5m``, ``1h``, ``1d``, ``250ms``, or seconds.

Retries and timeouts are read by people at 3 a.m.: ``10m`` says what ``600`` hides.
"""

from __future__ import annotations

import re

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")


def parse_duration(value: object) -> float:
    """Seconds in ``value``: a number of seconds, or a string like ``30s`` / ``1.5h``.

    Raises ``ValueError`` (which pydantic reports with the field's name) otherwise.
    """
    if isinstance(value, bool):
        raise ValueError("give a duration like 30s, 5m, 1h, or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        match = _DURATION.fullmatch(text)
        if match is not None:
            seconds = float(match.group(1)) * _UNITS[match.group(2)]
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(
                    f"{value!r:.40} is not a duration: write 30s, 5m, 1h, 1d or 250ms "
                    "(or a number of seconds)"
                ) from None
    else:
        raise ValueError("give a duration like 30s, 5m, 1h, or a number of seconds")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{value!r:.40} is not a duration of zero or more seconds")
    return seconds


def format_duration(seconds: float) -> str:
    """``90.0`` -> ``1m30s``: short, for log lines and tables."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s".replace(".0s", "s")
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts)

"""Path templates: ``data/applications-{date:%Y-%m-%d}.parquet`` rendered for a run.

A template names only placeholders from a fixed list and formats them with a
``strftime``-style spec: ``{date}`` (the run's scheduled time, ``%Y-%m-%d`` unless a spec
follows the colon, e.g. ``{date:%Y/%m/%d/%H%M}``), ``{job}`` (the job's name) and, in
outputs of a glob input, ``{stem}`` (the matched file's name without its suffix).

Templates come from files people edit, so they are parsed, never evaluated: no attribute
or index access (``{date.__class__}``, ``{date[0]}``), no conversions (``!r``), no nested
fields; anything else is refused when the schedule is loaded, naming the template. A date
format cannot climb directories (``{date:%Y/../..}``), and a value filled in (``{job}``,
``{stem}``: the name of a file that arrived) must be one plain path segment: a file named
``...csv`` (stem ``..``) cannot send its scores out of the output directory.
"""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from datetime import datetime

__all__ = ["DATE_DEFAULT_FORMAT", "PLACEHOLDERS", "check_template", "render_template"]

PLACEHOLDERS = ("date", "job", "stem")
DATE_DEFAULT_FORMAT = "%Y-%m-%d"
_FORMATTER = string.Formatter()


def check_template(template: str, allowed: Collection[str] = PLACEHOLDERS) -> set[str]:
    """The placeholders ``template`` uses; ``ValueError`` saying what is wrong otherwise."""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(
            f"{template!r} is not a valid template ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    used: set[str] = set()
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        shown = (
            "{"
            + name
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "")
            + "}"
        )
        if name not in allowed:
            names = ", ".join("{" + p + "}" for p in allowed)
            raise ValueError(
                f"{template!r}: {shown} is not a placeholder; use {names} "
                "(no attributes, indexes or positional fields)"
            )
        if conversion is not None:
            raise ValueError(f"{template!r}: {shown}: conversions (!r, !s, !a) are not allowed")
        if "{" in (spec or "") or "}" in (spec or ""):
            raise ValueError(f"{template!r}: {shown}: a format spec cannot hold placeholders")
        if ".." in (spec or "") or "\\" in (spec or "") or "\x00" in (spec or ""):
            raise ValueError(f"{template!r}: {shown}: a date format cannot hold '..' or '\\'")
        if spec and name != "date":
            raise ValueError(f"{template!r}: {shown}: only {{date}} takes a format (e.g. %Y-%m-%d)")
        used.add(name)
    return used


def render_template(template: str, date: datetime, values: Mapping[str, str]) -> str:
    """``template`` with ``{date[:spec]}`` and the other placeholders of ``values`` filled in.

    The template must have passed :func:`check_template`; a placeholder missing from
    ``values`` raises ``ValueError``.
    """
    out: list[str] = []
    for literal, name, spec, _conversion in _FORMATTER.parse(template):
        out.append(literal)
        if name is None:
            continue
        if name == "date":
            out.append(date.strftime(spec or DATE_DEFAULT_FORMAT))
        elif name in values:
            out.append(_segment(template, name, values[name]))
        else:
            raise ValueError(f"{template!r}: no value for {{{name}}} here")
    return "".join(out)


def _segment(template: str, name: str, value: str) -> str:
    """``value`` if it is one plain path segment, else ``ValueError`` naming the template."""
    if value in ("", ".", "..") or any(c in value for c in "/\\\x00"):
        raise ValueError(
            f"{template!r}: {{{name}}} would be {value[:60]!r}, which is not one plain path "
            "segment (no '/', '\\', NUL, '.' or '..')"
        )
    return value

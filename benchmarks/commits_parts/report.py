"""``benchmarks/results/commits.md``: a section per suite, one row per paired comparison."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from online_peers.paired import Paired

__all__ = ["Row", "Section", "render_section"]


@dataclass
class Row:
    paired: Paired
    rounds: str  # how the rounds were made, e.g. "(6 server pairs x 4)"
    measure: str = ""  # what was measured, when a section has several (batch)


@dataclass
class Section:
    title: str
    unit: str  # "req/s" or "rows/s"
    intro: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pinned: str = ""  # the table's pinned column; default from each comparison


def render_section(section: Section) -> list[str]:
    unit = section.unit
    took = f" ({section.seconds / 60:.1f} min)" if section.seconds else ""
    lines = [f"## {section.title}{took}", "", section.intro, ""]
    lines += [
        f"| A / B | median A {unit} | median B {unit} | median of per-round A/B "
        "| quartiles of A/B | rounds | pinned |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for row in section.rows:
        c = row.paired
        low, high = c.quartiles()
        name = f"{c.a} / {c.b}" + (f", {row.measure}" if row.measure else "")
        pinned = section.pinned or ("server core 0, wrk core 1" if c.pinned else "no")
        lines.append(
            f"| {name} | {statistics.median(c.a_runs):,.0f} | {statistics.median(c.b_runs):,.0f} "
            f"| {c.ratio:.3f} | {low:.3f} - {high:.3f} | {len(c.ratios)} {row.rounds} "
            f"| {pinned} |"
        )
    if section.notes:
        lines += ["", *section.notes]
    return [*lines, ""]

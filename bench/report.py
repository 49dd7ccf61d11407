"""The figures: one table printed at the end of a run, and the run saved as JSON
(bench/results/<timestamp>.json) so two runs can be compared."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import traceback
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Options, Skip

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    """One measured number, its target, and the baseline it is set against in the same run."""

    bench: str
    name: str
    value: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no pass/fail for this figure
    baseline: str = ""
    ratio: float | None = None
    note: str = ""
    status: str = ""  # "skip" / "error" rows carry the reason in ``note``

    def verdict(self) -> str:
        if self.status:
            return self.status
        if self.ok is None:
            return ""
        return "ok" if self.ok else "MISS"


async def part(bench: str, label: str, work: Awaitable[list[Figure]]) -> list[Figure]:
    """One independent part of a benchmark: its failure becomes an error row, and the other
    parts still report."""
    try:
        return await work
    except Skip as exc:
        return [Figure(bench, label, None, "", status="skip", note=str(exc))]
    except Exception as exc:
        traceback.print_exc()
        text = " ".join(str(exc).split())[:400]
        return [
            Figure(bench, label, None, "", status="error", note=f"{type(exc).__name__}: {text}")
        ]


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def table(figures: Sequence[Figure]) -> str:
    header = ("bench", "figure", "value", "target", "baseline (same run)", "ratio", "")
    rows = [
        (
            f.bench,
            f.name,
            fmt(f.value, f.unit),
            f.target,
            f.baseline,
            "-" if f.ratio is None else f"{f.ratio:.2f}",
            f.verdict(),
        )
        for f in figures
    ]
    lines = _grid(header, rows)
    notes = [f"  {f.bench} / {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "load_average": os.getloadavg(),
    }


def save(figures: Sequence[Figure], options: Options, started: datetime, seconds: float) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "started_at": started.isoformat(),
        "seconds": round(seconds, 1),
        "quick": options.quick,
        "machine": machine(),
        "figures": [asdict(f) for f in figures],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def compare(old_path: Path, new_path: Path) -> str:
    """Two saved runs side by side, figure by figure: values, and the ratios to each run's own
    baseline (the fairer comparison when the machines or their load differ)."""
    old = json.loads(old_path.read_text())
    new = json.loads(new_path.read_text())
    before = {(f["bench"], f["name"]): f for f in old["figures"]}
    header = ("bench", "figure", old_path.stem, new_path.stem, "change", "ratio then", "now")
    rows = []
    for f in new["figures"]:
        prior = before.get((f["bench"], f["name"])) or {}
        old_value = prior.get("value")
        change = ""
        if old_value and f["value"] is not None:
            change = f"{(f['value'] - old_value) / old_value * 100:+.0f}%"
        rows.append(
            (
                f["bench"],
                f["name"],
                fmt(old_value, f["unit"]),
                fmt(f["value"], f["unit"]),
                change,
                _ratio(prior.get("ratio")),
                _ratio(f["ratio"]),
            )
        )
    lines = _grid(header, rows)
    if old.get("quick") != new.get("quick"):
        lines.append("(one run was --quick: the figures are not comparable)")
    return "\n".join(lines)

"""Result rows, the machine header, and their Markdown table and JSON forms."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from benchmarks.measure import GNU_TIME, median, tool

__all__ = ["Row", "fmt_bytes", "fmt_seconds", "header", "machine", "markdown", "na_row"]


@dataclass
class Row:
    """One line of the table. Times are seconds; ``ratio`` is what ``goal`` is judged on."""

    group: str  #: the --only name of the benchmark this row belongs to
    name: str
    input: str
    samples: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    reference: str = "—"
    ref_samples: list[float] = field(default_factory=list)
    ratio: float | None = None
    ratio_label: str = ""  #: "speed" (reference time / ours) or "time" (ours / reference)
    goal: str = "—"
    met: bool | None = None
    measured: str = ""  #: replaces the default "median (min, max)" text
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    profile: list[str] = field(default_factory=list)  #: python args to profile it when missed

    def judge(self, op: str, bound: float) -> None:
        """Set ``goal`` and ``met`` from ``ratio`` (``op`` is ``>=`` or ``<=``)."""
        self.goal = f"{'≥' if op == '>=' else '≤'} {bound:g}\u00d7 {self.ratio_label}".strip()
        if self.ratio is not None:
            self.met = self.ratio >= bound if op == ">=" else self.ratio <= bound

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        return cls(**d)


def na_row(group: str, name: str, input_: str, why: str) -> Row:
    """A row for a benchmark that could not run here (a missing tool or module)."""
    return Row(group, name, input_, measured="n/a", note=why)


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1.0:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _measured(row: Row) -> str:
    if row.measured:
        return row.measured
    if not row.samples:
        return "n/a"
    lo, mid, hi = min(row.samples), median(row.samples), max(row.samples)
    text = fmt_seconds(mid)
    if len(row.samples) > 1:
        text += f" ({fmt_seconds(lo)}\u2013{fmt_seconds(hi)})"
    rate = row.extra.get("bytes")
    if rate:
        text += f", {rate / mid / 1e6:,.0f} MB/s"
    return text


def _reference(row: Row) -> str:
    if not row.ref_samples:
        return row.reference
    return f"{row.reference}: {fmt_seconds(median(row.ref_samples))}"


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return "—"
    r = row.ratio
    text = f"{r:.2f}" if r < 10 else f"{r:.3g}" if r < 1000 else f"{r:,.0f}"
    return f"{text}\u00d7 {row.ratio_label}"


def _met(row: Row) -> str:
    return "—" if row.met is None else ("yes" if row.met else "**no**")


def markdown(header: str, rows: list[Row]) -> str:
    """The results as a Markdown table under a one-paragraph machine header, notes below."""
    lines = [
        header,
        "",
        "| benchmark | input | measured (median, min\u2013max) | peak RSS | reference | ratio "
        "| goal | met? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for r in rows:
        rss = fmt_bytes(max(r.rss_kib) * 1024) if r.rss_kib else "—"
        name = r.name
        if r.note:
            notes.append(r.note)
            name += f" [{len(notes)}]"
        cells = [name, r.input, _measured(r), rss, _reference(r), _ratio(r), r.goal, _met(r)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if notes:
        lines.append("")
        lines += [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def _tool_version(name: str) -> str:
    path = tool(name)
    if path is None:
        return "not installed"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "unknown"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split()[-1] if first else "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on, including how busy the machine was."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(_ram_gib(), 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "iscc-lib": _version("iscc-lib"),
        "iscc-sum": _version("iscc-sum"),
        "snakemake": _version("snakemake"),
        "iscc-lineage": _version("iscc-lineage"),
        "b3sum": _tool_version("b3sum"),
        "sha256sum": _tool_version("sha256sum"),
        "loadavg_start": list(os.getloadavg()),
        "rss_from": "GNU time %M"
        if GNU_TIME
        else "os.wait4 (upper bound: includes the benchmark runner's own RSS)",
    }


def header(m: dict[str, Any], mode: str) -> str:
    """One line on the machine, the versions and the load (a busy machine moves the times)."""
    load = "/".join(f"{x:.2f}" for x in m["loadavg_start"])
    end = "/".join(f"{x:.2f}" for x in m.get("loadavg_end", []))
    return (
        f"**{mode} run, {m['date']}** — {m['cpu']}, {m['cores']} cores, "
        f"{m['ram_gib']} GiB RAM, {m['os']}; Python {m['python']}, iscc-lib {m['iscc-lib']}, "
        f"iscc-sum {m['iscc-sum']}, snakemake {m['snakemake']}, b3sum {m['b3sum']}, "
        f"coreutils sha256sum {m['sha256sum']}; load average (1/5/15 min) {load} at start"
        + (f", {end} at end" if end else "")
        + f". Peak RSS from {m['rss_from']}."
    )

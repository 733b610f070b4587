"""What a reproduction is asked to make and what it found: plans, outcomes, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iscc_lineage.errors import LineageError

__all__ = [
    "NEAR_BITS",
    "Expected",
    "Outcome",
    "Placed",
    "Plan",
    "Report",
    "ReproduceError",
    "Status",
]

NEAR_BITS = 4  #: of 64 bits: near-identical (verify's word for the same distance)

Status = Literal["identical", "near-identical", "different", "missing"]


class ReproduceError(LineageError):
    """The recorded steps cannot be set up for re-execution (changed code, missing data)."""


@dataclass(frozen=True, slots=True)
class Expected:
    """An output as recorded: where (relative to the scratch root), by whom, what content."""

    path: str
    step: str  #: step key: process[wildcards]
    order: int
    datahash: str | None = None
    sha256: str | None = None
    iscc: str | None = None  #: narrow ISCC-SUM or the 256-bit Data-Code
    image_code: str | None = None
    data_code: str | None = None  #: the recorded 256-bit Data-Code (store plans)


@dataclass(frozen=True, slots=True)
class Placed:
    """A file copied into the scratch folder before the run, checked against its record."""

    source: Path
    dest: str  #: relative to the scratch root
    datahash: str | None = None
    sha256: str | None = None


@dataclass(slots=True)
class Plan:
    label: str
    snakefile: str  #: relative to the scratch root
    files: list[Placed] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    path: str
    step: str
    status: Status
    recorded: str | None
    actual: str | None = None
    data_distance: int | None = None
    image_distance: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "step": self.step,
            "status": self.status,
            "recorded": self.recorded,
            "actual": self.actual,
            "data_distance": self.data_distance,
            "image_distance": self.image_distance,
            "bits": 64,
        }


@dataclass(slots=True)
class Report:
    label: str
    scratch: str
    command: list[str]
    returncode: int
    seconds: float
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log_tail: str | None = None

    @property
    def first_diverging(self) -> str | None:
        return next((o.step for o in self.outcomes if o.status != "identical"), None)

    def counts(self) -> dict[str, int]:
        out = {"identical": 0, "near-identical": 0, "different": 0, "missing": 0}
        for o in self.outcomes:
            out[o.status] += 1
        return out

    def reproduced(self, *, accept_near: bool = False) -> bool:
        ok = {"identical", "near-identical"} if accept_near else {"identical"}
        return (
            self.returncode == 0
            and bool(self.outcomes)
            and all(o.status in ok for o in self.outcomes)
        )

    def to_dict(self, *, accept_near: bool = False) -> dict[str, Any]:
        return {
            "target": self.label,
            "scratch": self.scratch,
            "command": self.command,
            "returncode": self.returncode,
            "seconds": round(self.seconds, 3),
            "reproduced": self.reproduced(accept_near=accept_near),
            "accept_near_identical": accept_near,
            "counts": self.counts(),
            "first_diverging_step": self.first_diverging,
            "notes": self.notes,
            "log_tail": self.log_tail,
            "outputs": [o.to_dict() for o in self.outcomes],
        }

"""The rows of batch_summary.csv, and writing it so that a crash never loses a finished row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import pandas as pd

from twitchcam.core.errors import OutputError
from twitchcam.store.results import replace_file

SUMMARY_FILE = "batch_summary.csv"
Status = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class BatchRow:
    """One row of batch_summary.csv (the field order is the column order); numbers empty when failed."""

    path: str
    status: Status
    error: str = ""
    duration_s: float | None = None
    frames: int | None = None
    face_fraction: float | None = None
    n_events: int | None = None
    events_per_min: float | None = None
    affected_side: str | None = None
    spasm_percent: float | None = None
    seconds_taken: float | None = None

    @classmethod
    def from_summary(cls, path: str, status: Status, summary: dict, seconds_taken: float | None) -> BatchRow:
        """A row with the numbers of an analysis's summary.json."""
        return cls(path=path, status=status, duration_s=summary["duration_s"], frames=summary["frames"],
                   face_fraction=summary["face_fraction"], n_events=summary["n_events"],
                   events_per_min=summary["events_per_min"], affected_side=summary["affected_side"],
                   spasm_percent=summary["spasm_percent"], seconds_taken=seconds_taken)

    @classmethod
    def failed(cls, path: str, error: str, seconds_taken: float | None = None) -> BatchRow:
        return cls(path=path, status="failed", error=" ".join(error.split()), seconds_taken=seconds_taken)


SUMMARY_COLUMNS = tuple(f.name for f in fields(BatchRow))
_TYPES = {"path": "string", "status": "string", "error": "string", "duration_s": "float64", "frames": "Int64",
          "face_fraction": "float64", "n_events": "Int64", "events_per_min": "float64", "affected_side": "string",
          "spasm_percent": "float64", "seconds_taken": "float64"}


def summary_table(rows: list[BatchRow]) -> pd.DataFrame:
    """The rows as batch_summary.csv's table, sorted by path."""
    table = pd.DataFrame([asdict(r) for r in sorted(rows, key=lambda r: r.path)], columns=list(SUMMARY_COLUMNS))
    return table.astype(_TYPES)


class SummaryWriter:
    """Keeps the rows of a batch and replaces OUT/batch_summary.csv atomically after every change."""

    def __init__(self, out: Path):
        self.path = out / SUMMARY_FILE
        self.rows: dict[str, BatchRow] = {}

    def add(self, row: BatchRow) -> None:
        self.rows[row.path] = row
        self.write()

    def write(self) -> None:
        try:
            replace_file(self.path, summary_table(list(self.rows.values())).to_csv(index=False).encode())
        except OSError as err:
            raise OutputError(f"cannot write {self.path}: {err.strerror or err}") from err


@dataclass
class BatchResult:
    """What a batch did: one row per video found, sorted by path, and where the summary is."""

    out: Path
    rows: list[BatchRow] = field(default_factory=list)

    @property
    def summary_path(self) -> Path:
        return self.out / SUMMARY_FILE

    def count(self, status: Status) -> int:
        return sum(row.status == status for row in self.rows)

    @property
    def table(self) -> pd.DataFrame:
        return summary_table(self.rows)

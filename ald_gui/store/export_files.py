"""Export files: chunks of rows as Arrow tables, written to Parquet or CSV under a
temporary name in the target's folder and renamed only once complete.

Wide: a ``time`` column (timestamp[us, UTC]) and one float64 column per tag, one row
per instant; a tag not sampled at an instant is null (an empty CSV cell), never NaN
or 0. Long: ``time, tag, value, unit``, one row per sample. Parquet files carry the
export's description (``ExportFile.metadata``) in their key-value metadata and each tag
column its unit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ald_gui.store.export_rows import Chunk, columns_of

__all__ = ["ExportFile", "Format", "Layout", "TagColumn", "UnwritableTarget"]

TIME = "time"
_TIME_TYPE = pa.timestamp("us", tz="UTC")


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


class Layout(StrEnum):
    WIDE = "wide"  # one column per tag, a row per instant
    LONG = "long"  # time, tag, value, unit: a row per sample


class UnwritableTarget(Exception):
    """The export's file cannot be made where it was asked (its folder is missing, not
    writable, or the name is a folder)."""


@dataclass(frozen=True, slots=True)
class TagColumn:
    """An exported tag: its parameter id, its key (the column's name) and unit."""

    parameter_id: int
    key: str
    unit: str


def _schema(layout: Layout, tags: Sequence[TagColumn], metadata: Mapping[str, str]) -> pa.Schema:
    if layout is Layout.WIDE:
        fields = [pa.field(TIME, _TIME_TYPE, nullable=False)] + [
            pa.field(t.key, pa.float64(), metadata={"unit": t.unit}) for t in tags
        ]
    else:
        fields = [
            pa.field(TIME, _TIME_TYPE, nullable=False),
            pa.field("tag", pa.string(), nullable=False),
            pa.field("value", pa.float64(), nullable=False),
            pa.field("unit", pa.string(), nullable=False),
        ]
    return pa.schema(fields, metadata=dict(metadata))


class ExportFile:
    """A file being written: ``write(chunk)`` as the rows come, then ``commit()`` renames
    it to ``target``; leaving the ``with`` block without a commit (a cancel, an error)
    deletes it, so nothing is ever left under ``target`` but a whole export. An existing
    file at ``target`` is replaced only by the commit."""

    def __init__(
        self,
        target: Path,
        file_format: Format,
        layout: Layout,
        tags: Sequence[TagColumn],
        metadata: Mapping[str, str],
    ) -> None:
        self.target = target
        self.layout = layout
        self.tags = tuple(tags)
        self.instants = 0
        self._columns = columns_of([t.parameter_id for t in tags])
        self._keys = pa.array([t.key for t in tags], pa.string())
        self._units = pa.array([t.unit for t in tags], pa.string())
        self._schema = _schema(layout, tags, metadata)
        if target.is_dir():
            raise UnwritableTarget(f"{target} is a folder: name a file to export to")
        try:
            handle, partial = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".partial", dir=target.parent
            )
        except OSError as exc:
            raise UnwritableTarget(
                f"cannot write in {target.parent}: {exc.strerror or exc}; choose a folder "
                "that exists and that you may write in"
            ) from None
        os.close(handle)
        self.partial = Path(partial)
        self._writer: Any = (
            pq.ParquetWriter(self.partial, self._schema)
            if file_format is Format.PARQUET
            else pa_csv.CSVWriter(str(self.partial), self._schema)
        )
        self._committed = False

    def __enter__(self) -> ExportFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed:
            self._writer.close()
            self.partial.unlink(missing_ok=True)

    def write(self, chunk: Chunk) -> None:
        table = self._wide(chunk) if self.layout is Layout.WIDE else self._long(chunk)
        self._writer.write_table(table)

    def commit(self) -> None:
        """Close the file and give it its final name (atomically, in one folder)."""
        self._writer.close()
        os.replace(self.partial, self.target)
        self._committed = True

    def _times(self, at_us: np.ndarray[Any, Any]) -> pa.Array:
        return pa.array(at_us, pa.int64()).view(_TIME_TYPE)

    def _wide(self, chunk: Chunk) -> pa.Table:
        # Rows come ordered by time: an instant starts wherever the time changes.
        starts = np.empty(len(chunk), bool)
        starts[0] = True
        np.not_equal(chunk.at_us[1:], chunk.at_us[:-1], out=starts[1:])
        row = np.cumsum(starts) - 1
        instants = chunk.at_us[starts]
        column = self._columns[chunk.parameter_id]
        values = np.zeros((len(self.tags), len(instants)))
        missing = np.ones((len(self.tags), len(instants)), bool)
        values[column, row] = chunk.value
        missing[column, row] = False
        self.instants += len(instants)
        arrays = [self._times(instants)] + [
            pa.array(values[j], pa.float64(), mask=missing[j] if missing[j].any() else None)
            for j in range(len(self.tags))
        ]
        return pa.Table.from_arrays(arrays, schema=self._schema)

    def _long(self, chunk: Chunk) -> pa.Table:
        column = pa.array(self._columns[chunk.parameter_id], pa.int32())
        self.instants += int(np.count_nonzero(np.diff(chunk.at_us))) + 1
        arrays = [
            self._times(chunk.at_us),
            self._keys.take(column),
            pa.array(chunk.value, pa.float64()),
            self._units.take(column),
        ]
        return pa.Table.from_arrays(arrays, schema=self._schema)

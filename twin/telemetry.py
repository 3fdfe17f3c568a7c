"""Telemetry: one Parquet file per subsystem, written in row groups as the run goes.

Memory stays flat however long the campaign: committed windows are buffered only up to
``chunk_rows`` rows. Files are written under a hidden partial name and renamed when complete,
so a reader never sees half a file; an aborted run leaves none.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from twin.clock import Clock


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


class _Table:
    def __init__(self, final: Path, clock: Clock, chunk_rows: int):
        self.final = final
        self.partial = final.with_name(f".{final.name}.partial")
        self.clock = clock
        self.chunk_rows = chunk_rows
        self.pieces: list[tuple[int, Mapping[str, np.ndarray]]] = []
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.next_step: int | None = None

    def append(self, start_step: int, columns: Mapping[str, np.ndarray]) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"{self.final.stem}: telemetry columns differ in length: {lengths}")
        if self.next_step is not None and start_step != self.next_step:
            raise ValueError(f"{self.final.stem}: telemetry for step {start_step} but step {self.next_step} was due")
        n = lengths.pop()
        self.next_step = start_step + n
        if n == 0:
            return
        self.pieces.append((start_step, columns))
        self.rows += n
        if self.rows >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self.pieces:
            return
        start = self.pieces[0][0]
        names = list(self.pieces[0][1])
        steps = np.arange(start, start + self.rows, dtype=np.int64)
        time_ns = (self.clock.start_unix_s + steps * self.clock.step_s) * 1_000_000_000
        arrays = [pa.array(time_ns, type=pa.timestamp("ns", tz="UTC"))]
        arrays += [pa.array(np.concatenate([cols[name] for _, cols in self.pieces])) for name in names]
        table = pa.Table.from_arrays(arrays, names=["time", *names])
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.partial, table.schema, compression="zstd")
        self.writer.write_table(table, row_group_size=len(table))
        self.pieces, self.rows = [], 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
            os.replace(self.partial, self.final)

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.partial.unlink(missing_ok=True)


class TelemetrySink:
    """Streams each subsystem's committed telemetry to ``OUT/telemetry/<subsystem>.parquet``."""

    def __init__(self, folder: Path, clock: Clock, chunk_rows: int = 131_072):
        self.folder = folder
        self.clock = clock
        self.chunk_rows = chunk_rows
        self.tables: dict[str, _Table] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def append(self, subsystem: str, start_step: int, columns: Mapping[str, np.ndarray]) -> None:
        table = self.tables.get(subsystem)
        if table is None:
            table = self.tables[subsystem] = _Table(self.folder / f"{subsystem}.parquet", self.clock, self.chunk_rows)
        table.append(start_step, columns)

    def close(self) -> None:
        for table in self.tables.values():
            table.close()

    def discard(self) -> None:
        for table in self.tables.values():
            table.discard()

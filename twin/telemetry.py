"""Telemetry: one Parquet file per subsystem, written in row groups as the run goes.

Memory stays flat however long the campaign: committed windows are buffered only up to
``chunk_rows`` rows, and at most a few chunks wait for the writer thread (Parquet encoding runs
there, beside the simulation). Files are written under a hidden partial name and renamed when complete,
so a reader never sees half a file; an aborted run leaves none.
"""
from __future__ import annotations

import json
import os
import queue
import threading
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
    def __init__(self, final: Path, clock: Clock, chunk_rows: int, submit):
        self.final = final
        self.partial = final.with_name(f".{final.name}.partial")
        self.clock = clock
        self.chunk_rows = chunk_rows
        self.pieces: list[tuple[int, Mapping[str, np.ndarray]]] = []
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.next_step: int | None = None
        self.submit = submit

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
        if self.pieces:
            self.submit(self._write, self.pieces, self.rows)
            self.pieces, self.rows = [], 0

    def _write(self, pieces, rows) -> None:
        start = pieces[0][0]
        names = list(pieces[0][1])
        steps = np.arange(start, start + rows, dtype=np.int64)
        time_ns = (self.clock.start_unix_s + steps * self.clock.step_s) * 1_000_000_000
        arrays = [pa.array(time_ns, type=pa.timestamp("ns", tz="UTC"))]
        # Chunked views of the committed windows, no copy here: the Parquet writer (which releases
        # the GIL) reads them directly.
        arrays += [pa.chunked_array([pa.array(cols[name]) for _, cols in pieces]) for name in names]
        table = pa.Table.from_arrays(arrays, names=["time", *names])
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.partial, table.schema, compression="snappy")
        self.writer.write_table(table, row_group_size=len(table))

    def finish(self) -> Path | None:
        if self.writer is None:
            return None
        self.writer.close()
        os.replace(self.partial, self.final)
        return self.final

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.partial.unlink(missing_ok=True)


class TelemetrySink:
    """Streams each subsystem's committed telemetry to ``OUT/telemetry/<subsystem>.parquet``."""

    def __init__(self, folder: Path, clock: Clock, chunk_rows: int = 32_768, backlog: int = 2):
        self.folder = folder
        self.clock = clock
        self.chunk_rows = chunk_rows
        self.tables: dict[str, _Table] = {}
        self._jobs: queue.Queue = queue.Queue(maxsize=backlog)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="telemetry-writer", daemon=True)
        self._thread.start()
        folder.mkdir(parents=True, exist_ok=True)

    def _work(self) -> None:
        # Encoding is background work: let the thread that advances the models go first.
        if hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except OSError:
                pass
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job[0](*job[1:])
                except BaseException as exc:  # reported by close()
                    self._error = exc

    def _submit(self, fn, *args) -> None:
        if self._error is not None:
            raise RuntimeError("writing telemetry failed") from self._error
        self._jobs.put((fn, *args))

    def append(self, subsystem: str, start_step: int, columns: Mapping[str, np.ndarray]) -> None:
        table = self.tables.get(subsystem)
        if table is None:
            path = self.folder / f"{subsystem}.parquet"
            table = self.tables[subsystem] = _Table(path, self.clock, self.chunk_rows, self._submit)
        table.append(start_step, columns)

    def _drain(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()

    def close(self) -> list[Path]:
        """Write what is buffered and publish every file; nothing is published if any write failed."""
        for table in self.tables.values():
            table.flush()
        self._drain()
        if self._error is not None:
            self.discard()
            raise RuntimeError("writing telemetry failed") from self._error
        return [path for path in (table.finish() for table in self.tables.values()) if path is not None]

    def discard(self) -> None:
        self._drain()
        for table in self.tables.values():
            table.discard()


def telemetry_sink(folder: Path | str | None, clock: Clock) -> TelemetrySink | None:
    return None if folder is None else TelemetrySink(Path(folder), clock)

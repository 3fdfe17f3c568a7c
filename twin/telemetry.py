"""Telemetry: one Parquet dataset per instance, ``OUT/telemetry/<id>.parquet/``, written in row
groups as the run goes.

The dataset is a folder of part files ``part-<first step>-<end step>.parquet`` (zero-padded, so
name order is time order); pyarrow, pandas, polars and duckdb read the folder as one table. A part
is written under a hidden partial name and renamed when complete, so a reader never sees half a
file. Parts close at every checkpoint (:meth:`TelemetrySink.rotate`): resuming from a checkpoint
drops the parts after it and nothing is doubled or lost.

Every column carries Parquet field metadata ``unit``, ``description`` and ``kind`` (``rate``,
``level``, ``cumulative``, ``amount`` or ``state``: see :class:`twin.model.Column`), and the file
carries the instance's ``id`` and ``kind``. Columns are stored compactly and losslessly: the time
as deltas, floats byte-stream-split, integers delta-packed, all zstd.

With ``every`` > 1 micro steps a row aggregates that many steps, by each column's kind: a rate
is averaged, an amount summed, a level, cumulative total or state taken at the block's last step.
Blocks are aligned to the run's start; a part closes only at a block boundary (a checkpoint that is
not on one is not a resume point for this instance's telemetry).

Memory stays flat however long the campaign: committed windows are buffered only up to
``chunk_rows`` rows, and at most a few chunks wait for the writer thread (Parquet encoding runs
there, beside the simulation).
"""
from __future__ import annotations

import json
import os
import queue
import re
import threading
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from twin.clock import Clock
from twin.model import Column, TelemetryBehind

TIME = Column("UTC", "state", "start of the micro step")

_PART = re.compile(r"^part-(\d{12})-(\d{12})\.parquet$")


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def atomic_write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def part_name(first: int, end: int) -> str:
    return f"part-{first:012d}-{end:012d}.parquet"


def parts(folder: Path) -> list[tuple[int, int, Path]]:
    """Published parts of a dataset folder: (first step, end step, path), in step order."""
    if not folder.is_dir():
        return []
    found = [(int(m[1]), int(m[2]), p) for p in folder.iterdir() if (m := _PART.match(p.name))]
    return sorted(found)


def durable_step(folder: Path) -> int:
    """End of the contiguous published parts from step 0 (0 when there are none)."""
    end = 0
    for first, last, _ in parts(folder):
        if first != end:
            break
        end = last
    return end


def arrow(values: np.ndarray, type: pa.DataType | None = None) -> pa.Array:
    """A numpy column as an Arrow array without a copy.

    ``pa.array`` imports pandas on first use (0.2 s per process, paid again by every Ray actor);
    building from the buffer does not.
    """
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(np.packbits(values, bitorder="little"))])
    return pa.Array.from_buffers(type or pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


class TelemetrySink:
    """Streams one instance's committed telemetry to its dataset folder."""

    def __init__(self, folder: Path, clock: Clock, columns: dict[str, Column] | None = None, about: dict[str, str] | None = None,
                 chunk_rows: int = 32_768, backlog: int = 2, every: int = 1):
        if every > 1 and columns is None:
            raise ValueError("aggregating telemetry needs each column's kind")
        self.every = every
        self.folder = Path(folder)
        self.clock = clock
        self.columns = columns
        self.about = about or {}
        self.chunk_rows = chunk_rows
        self.pieces: list[tuple[int, Mapping[str, np.ndarray]]] = []
        self.rows = 0
        self.next_step = 0
        self.part_start = 0  # first step of the part being written
        self._writer: pq.ParquetWriter | None = None  # used by the writer thread only
        self._partial: Path | None = None
        self._jobs: queue.Queue = queue.Queue(maxsize=backlog)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="telemetry-writer", daemon=True)
        self._thread.start()
        self.folder.mkdir(parents=True, exist_ok=True)

    # -- writer thread ----------------------------------------------------------------------
    def _work(self) -> None:
        # Encoding is background work: let the thread that advances the models go first.
        if hasattr(os, "setpriority"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
            except OSError:
                pass
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    try:
                        job[0](*job[1:])
                    except BaseException as exc:  # reported by the next call from the host
                        self._error = exc
            finally:
                self._jobs.task_done()

    def _submit(self, fn, *args) -> None:
        self._raise()
        self._jobs.put((fn, *args))

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"writing telemetry to {self.folder} failed: {self._error}") from self._error

    def _write(self, first: int, pieces, rows, every: int = 1) -> None:
        start = pieces[0][0]
        names = list(pieces[0][1])
        steps = start + every * np.arange(rows, dtype=np.int64)
        time_ns = (self.clock.start_unix_s + steps * self.clock.step_s) * 1_000_000_000
        arrays = [arrow(time_ns, pa.timestamp("ns", tz="UTC"))]
        # Chunked views of the committed windows, no copy here: the Parquet writer (which releases
        # the GIL) reads them directly.
        arrays += [pa.chunked_array([arrow(cols[name]) for _, cols in pieces]) for name in names]
        table = pa.Table.from_arrays(arrays, schema=self._schema(names, arrays))
        if self._writer is None:
            self._partial = self.folder / f".{part_name(first, 0)}.partial"
            encoding = {}
            for field in table.schema:
                if pa.types.is_floating(field.type):
                    encoding[field.name] = "BYTE_STREAM_SPLIT"
                elif pa.types.is_integer(field.type) or pa.types.is_timestamp(field.type):
                    encoding[field.name] = "DELTA_BINARY_PACKED"
            # Statistics (min/max per row group) for the time column only: readers prune by time,
            # and computing them for every column costs 15 % of the encoding.
            self._writer = pq.ParquetWriter(self._partial, table.schema, compression="zstd", use_dictionary=False, column_encoding=encoding,
                                            write_statistics=["time"])
        self._writer.write_table(table, row_group_size=len(table))

    def _schema(self, names: list[str], arrays) -> pa.Schema:
        columns = self.columns
        if columns is not None:
            missing = [n for n in names if n not in columns]
            if missing:
                raise ValueError(f"{self.folder.name}: telemetry columns {', '.join(missing)} have no unit, kind and description (Model.telemetry_columns)")
        fields = []
        for name, array in zip(["time", *names], arrays):
            spec = TIME if name == "time" else (columns or {}).get(name)
            meta = None if spec is None else {"unit": spec.unit, "kind": spec.kind, "description": spec.description}
            fields.append(pa.field(name, array.type, metadata=meta))
        return pa.schema(fields, metadata={f"ilrs_twin.{k}": v for k, v in self.about.items()} or None)

    def _close_part(self, first: int, end: int) -> None:
        if self._writer is None:
            return
        self._writer.close()
        os.replace(self._partial, self.folder / part_name(first, end))
        self._writer = self._partial = None

    # -- host side --------------------------------------------------------------------------
    def append(self, start_step: int, columns: Mapping[str, np.ndarray]) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"{self.folder.name}: telemetry columns differ in length: {sorted(lengths)}")
        if start_step != self.next_step:
            raise ValueError(f"{self.folder.name}: telemetry for step {start_step} but step {self.next_step} was due")
        n = lengths.pop()
        self.next_step = start_step + n
        if n == 0:
            return
        self.pieces.append((start_step, columns))
        self.rows += n
        if self.rows >= self.chunk_rows:
            self.flush()

    def flush(self, final: bool = False) -> None:
        if not self.pieces:
            return
        if self.every == 1:
            self._submit(self._write, self.part_start, self.pieces, self.rows)
            self.pieces, self.rows = [], 0
            return
        # Whole blocks only (the last, short one at the end of the run).
        start = self.pieces[0][0]
        names = list(self.pieces[0][1])
        columns = {k: np.concatenate([np.asarray(cols[k]) for _, cols in self.pieces]) for k in names}
        keep = 0 if final else (start + self.rows) % self.every
        take = self.rows - keep
        if take == 0:
            return
        blocks = {k: self._aggregate(v[:take], self.columns[k].kind) for k, v in columns.items()}
        self.pieces = [(start + take, {k: v[take:] for k, v in columns.items()})] if keep else []
        self.rows = keep
        self._submit(self._write, self.part_start, [(start, blocks)], len(next(iter(blocks.values()))), self.every)

    def _aggregate(self, values: np.ndarray, kind: str) -> np.ndarray:
        b = self.every
        edges = np.arange(0, len(values), b)
        if kind == "rate":
            return np.add.reduceat(values.astype(np.float64), edges) / np.diff(np.append(edges, len(values)))
        if kind == "amount":
            return np.add.reduceat(values, edges)
        return values[np.minimum(edges + b, len(values)) - 1]

    def rotate(self, final: bool = False) -> None:
        """Close the part being written at the current step (a checkpoint boundary); with
        aggregation, only when the step is on a block boundary (or at the end: ``final``)."""
        if self.every > 1 and self.next_step % self.every and not final:
            return
        self.flush(final)
        if self.next_step > self.part_start:
            self._submit(self._close_part, self.part_start, self.next_step)
            self.part_start = self.next_step

    def _drain(self) -> None:
        self._jobs.join()
        self._raise()

    def rewind(self, step: int) -> None:
        """Continue writing from ``step``: published parts must reach it; later rows are dropped."""
        self.pieces, self.rows = [], 0
        self._drain()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._drop_partials()
        durable = durable_step(self.folder)
        if durable < step:
            raise TelemetryBehind(self.folder.name.removesuffix(".parquet"), step, durable)
        for first, end, path in parts(self.folder):
            if first >= step:
                path.unlink()
            elif end > step:
                raise ValueError(f"{path}: a part spans step {step}; the dataset does not fit this checkpoint")
        self.next_step = self.part_start = step

    def _drop_partials(self) -> None:
        for path in self.folder.glob(".part-*.partial"):
            path.unlink(missing_ok=True)

    def close(self) -> list[Path]:
        """Write what is buffered and publish the last part; stop the writer."""
        try:
            self.rotate(final=True)
            self._drain()
        except BaseException:
            self.discard()
            raise
        self._stop()
        return [path for _, _, path in parts(self.folder)]

    def discard(self) -> None:
        """Drop what is not published (after a failure); published parts stay for --resume."""
        self.pieces, self.rows = [], 0
        try:
            self._jobs.join()
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            self._drop_partials()
            self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()


def telemetry_sink(folder: Path | str | None, model, clock: Clock, every: int = 1) -> TelemetrySink | None:
    """The sink of one instance: ``OUT/telemetry/<id>.parquet/``, its columns described, a row
    per ``every`` micro steps."""
    if folder is None:
        return None
    about = {"id": model.id, "kind": model.kind, "row_step_s": str(every * clock.step_s)}
    return TelemetrySink(Path(folder) / f"{model.id}.parquet", clock, model.columns(), about, every=every)

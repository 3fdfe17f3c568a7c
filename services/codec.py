"""numpy <-> protobuf: arrays travel as raw little-endian bytes, decoded without copying per element.

Piecewise-constant series (most of a window's coupling: power requests, switch states and other
feedback answers) go run-length encoded when that is much smaller; runs are found on the bit
patterns, so decoding gives back exactly the same values (-0.0 and NaN payloads included).
"""
from __future__ import annotations

import json
from typing import Iterable, Mapping

import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp

from services.gen.ilrs.twin.v1 import coupling_pb2 as pb
from services.gen.ilrs.twin.v1 import snapshot_pb2
from twin.clock import Clock
from twin.commands import Command
from twin.conductor import StationSnapshot
from twin.model import Snapshot, Window

_DTYPES = {
    pb.ELEMENT_TYPE_FLOAT64: np.dtype("<f8"),
    pb.ELEMENT_TYPE_INT64: np.dtype("<i8"),
    pb.ELEMENT_TYPE_UINT8: np.dtype("u1"),
}
_CODES = {dtype: code for code, dtype in _DTYPES.items()}


_RUN = np.dtype("<u4")
_BITS = {1: np.uint8, 8: np.uint64}


def to_series(name: str, values: np.ndarray) -> pb.Series:
    array = np.asarray(values)
    dtype = array.dtype.newbyteorder("<") if array.dtype.itemsize > 1 else array.dtype
    if dtype not in _CODES:
        dtype = np.dtype("<i8") if array.dtype.kind in "iub" else np.dtype("<f8")
    raw = np.ascontiguousarray(array, dtype=dtype).reshape(-1)
    n = raw.size
    if n >= 64:
        bits = raw.view(_BITS[dtype.itemsize])
        starts = np.flatnonzero(bits[1:] != bits[:-1]) + 1
        if (starts.size + 1) * (dtype.itemsize + _RUN.itemsize) * 4 < n * dtype.itemsize:
            starts = np.concatenate(([0], starts))
            lengths = np.diff(np.concatenate((starts, [n]))).astype(_RUN)
            return pb.Series(name=name, element_type=_CODES[dtype], data=raw[starts].tobytes(), run_lengths=lengths.tobytes())
    return pb.Series(name=name, element_type=_CODES[dtype], data=raw.tobytes())


def from_series(series: pb.Series, length: int | None = None) -> np.ndarray:
    """Decode one series; with ``length``, refuse (before expanding any runs) one of another length."""
    if series.element_type not in _DTYPES:
        raise ValueError(f"series {series.name!r}: unknown element_type {series.element_type}")
    dtype = _DTYPES[series.element_type]
    if len(series.data) % dtype.itemsize:
        raise ValueError(f"series {series.name!r}: {len(series.data)} bytes is not a whole number of {dtype.itemsize}-byte values")
    values = np.frombuffer(series.data, dtype=dtype)
    if series.run_lengths:
        if len(series.run_lengths) % _RUN.itemsize or len(series.run_lengths) // _RUN.itemsize != values.size:
            raise ValueError(f"series {series.name!r}: run_lengths must hold one 4-byte length per value")
        lengths = np.frombuffer(series.run_lengths, dtype=_RUN)
        total = int(lengths.sum(dtype=np.int64))
    else:
        lengths, total = None, values.size
    if length is not None and total != length:
        raise ValueError(f"series {series.name!r} has {total} values for a window of {length} steps")
    if lengths is not None:
        values = np.repeat(values, lengths)
    return values.astype(dtype.newbyteorder("="), copy=False)


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> list[pb.Series]:
    return [to_series(name, values) for name, values in arrays.items()]


def decode_arrays(series: Iterable[pb.Series], length: int | None = None) -> dict[str, np.ndarray]:
    return {s.name: from_series(s, length) for s in series}


def encode_window(window: Window) -> pb.Window:
    start = Timestamp(seconds=window.clock.start_unix_s + window.start_step * window.clock.step_s)
    return pb.Window(start_step=window.start_step, steps=window.steps, start_time=start, step_s=window.clock.step_s)


def decode_window(message: pb.Window, clock: Clock) -> Window:
    if message.step_s != clock.step_s:
        raise ValueError(f"window.step_s: {message.step_s} s does not match the run's micro step of {clock.step_s} s")
    if message.steps < 0 or message.start_step < 0:
        raise ValueError("window: start_step and steps must not be negative")
    if message.start_step + message.steps > clock.n_steps:
        raise ValueError(f"window.steps: {message.steps} steps from step {message.start_step} run past the end of the run ({clock.n_steps} steps)")
    return Window(message.start_step, message.steps, clock)


def encode_snapshot(snap: Snapshot) -> snapshot_pb2.InstanceSnapshot:
    return snapshot_pb2.InstanceSnapshot(id=snap.id, kind=snap.kind, schema_version=snap.schema_version, step=snap.step, payload=snap.payload, rng_state=snap.rng_state)


def decode_snapshot(message: snapshot_pb2.InstanceSnapshot) -> Snapshot:
    return Snapshot(message.id, message.kind, message.schema_version, message.step, bytes(message.payload), bytes(message.rng_state))


def encode_station(snap: StationSnapshot) -> snapshot_pb2.StationSnapshot:
    windows, cut, proposals = snap.stats
    return snapshot_pb2.StationSnapshot(
        scenario_sha256=snap.scenario_sha256,
        step=snap.step,
        instances=[encode_snapshot(s) for s in snap.instances.values()],
        plan=encode_arrays(snap.plan),
        stats=snapshot_pb2.ExchangeStats(windows=windows, cut_windows=cut, proposals=proposals),
        commands=[encode_command(c) for c in snap.commands],
        pending=[encode_command(c) for c in snap.pending],
    )


def encode_command(command: Command) -> snapshot_pb2.AppliedCommand:
    return snapshot_pb2.AppliedCommand(target=command.target, command=command.name, args_json=json.dumps(command.arguments, sort_keys=True), step=command.step)


def decode_command(message: snapshot_pb2.AppliedCommand) -> Command:
    return Command.of(message.target, message.command, json.loads(message.args_json or "{}"), message.step)


def decode_station(message: snapshot_pb2.StationSnapshot) -> StationSnapshot:
    return StationSnapshot(
        step=message.step,
        instances={s.id: decode_snapshot(s) for s in message.instances},
        plan={key: value.astype(np.float64) for key, value in decode_arrays(message.plan).items()},
        stats=(message.stats.windows, message.stats.cut_windows, message.stats.proposals),
        scenario_sha256=message.scenario_sha256,
        commands=tuple(decode_command(c) for c in message.commands),
        pending=tuple(decode_command(c) for c in message.pending),
    )

"""Checkpoints on disk: ``OUT/checkpoints/<step>/`` holds the station snapshot of that step.

Each folder is written under a hidden name and renamed when complete, so a folder that exists is
whole. ``station.pb`` is an ``ilrs.twin.v1.StationSnapshot``; ``checkpoint.json`` says the same
for people (step, simulated time, instances). Resuming tries the newest first and falls back to
older ones when some instance's published telemetry does not reach it (its writer was killed).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from twin.clock import iso
from twin.conductor import StationSnapshot


class CheckpointStore:
    def __init__(self, folder: Path, clock):
        self.folder = Path(folder)
        self.clock = clock

    def write(self, snap: StationSnapshot) -> Path:
        from services.codec import encode_station

        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / str(snap.step)
        tmp = self.folder / f".{snap.step}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        (tmp / "station.pb").write_bytes(encode_station(snap).SerializeToString())
        info = {
            "step": snap.step,
            "time": iso(self.clock.start_unix_s + snap.step * self.clock.step_s),
            "scenario_sha256": snap.scenario_sha256,
            "instances": {id: {"kind": s.kind, "schema_version": s.schema_version} for id, s in snap.instances.items()},
        }
        (tmp / "checkpoint.json").write_text(json.dumps(info, indent=2) + "\n")
        if final.exists():  # the same step again after a recovery: same content
            shutil.rmtree(final)
        os.replace(tmp, final)
        return final

    def steps(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(p.name) for p in self.folder.iterdir() if p.name.isdigit() and (p / "station.pb").is_file())

    def load(self, step: int) -> StationSnapshot:
        from services.codec import decode_station
        from services.gen.ilrs.twin.v1 import snapshot_pb2

        message = snapshot_pb2.StationSnapshot()
        message.ParseFromString((self.folder / str(step) / "station.pb").read_bytes())
        return decode_station(message)

    def load_all(self) -> list[StationSnapshot]:
        return [self.load(step) for step in self.steps()]

"""``OUT/events.jsonl``: every accepted mutating call on a live twin, one JSON object a line,
appended and flushed to disk before the call is answered, so a crash loses no accepted event and
never leaves half a line (each line is one ``write``).

Each line: ``{"step", "time", "wall_time", "caller", "action", "request", "result"}`` with the
simulation step and UTC time the action took effect at, the wall-clock UTC time it was accepted,
the caller's address, what was asked and what it gave.
"""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from twin.clock import iso


class EventLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, action: str, request: dict, result: dict, step: int, time_unix_s: int, caller: str = "") -> dict:
        event = {"step": step, "time": iso(time_unix_s), "wall_time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "caller": caller, "action": action, "request": request, "result": result}
        line = (json.dumps(event, sort_keys=False) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        return event

    def read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

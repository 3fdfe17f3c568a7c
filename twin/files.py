"""Files written whole or not at all: each is saved under a hidden partial name and renamed into
place, so a reader never sees half a file and a failure leaves nothing behind."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def write_whole(folder: Path, savers: list[tuple[str, Callable[[Path], None]]]) -> list[Path]:
    """Run each ``save(path)`` into ``folder/.name.partial`` and rename it to ``folder/name``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, save in savers:
        tmp = folder / f".{name}.partial"
        try:
            save(tmp)
            os.replace(tmp, folder / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written.append(folder / name)
    return written

"""A disk cache for tables that are pure functions of their inputs (sky and link grids, horizons).

A site study reruns the same site and span many times; the ephemeris tables behind it take
seconds to build and never change for the same inputs. Each entry is one ``.npz`` file whose name
is a hash of everything the table depends on: the caller's inputs, the source of the code that
computes it and the versions of the numerical packages involved, so a changed input, a code edit
or an upgrade misses the cache instead of reading a stale table. Entries are written whole
(temporary file, then rename) and a file that cannot be read is rebuilt, so a cache is never
wrong, only absent.

Location: ``$ILRS_TWIN_CACHE`` if set (``off`` disables caching), else
``$XDG_CACHE_HOME/ilrs-twin`` or ``~/.cache/ilrs-twin``. Deleting the folder is always safe.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

ENV = "ILRS_TWIN_CACHE"
PACKAGES = ("numpy", "skyfield", "jplephem", "skyfield-data")


def folder() -> Path | None:
    """The cache folder, or None when caching is off."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "none") else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ilrs-twin"


@lru_cache(maxsize=None)
def _fingerprint(modules: tuple[str, ...], packages: tuple[str, ...] = PACKAGES) -> str:
    digest = hashlib.sha256()
    for name in modules:
        source = importlib.import_module(name).__file__
        digest.update(name.encode() + b"\0" + Path(source).read_bytes())
    for package in packages:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{package}={version}\0".encode())
    return digest.hexdigest()


def _exact(value):
    # Floats by their bits: 0.1 and 0.1000000000000001 are different inputs.
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_exact(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _exact(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [value.dtype.str, list(value.shape), hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()]
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    raise TypeError(f"cache key: {type(value).__name__} is not a plain value")


def key_of(name: str, inputs: Mapping, modules: tuple[str, ...], packages: tuple[str, ...] = PACKAGES) -> str:
    """A hash of ``inputs`` (by their bits), the source of ``modules`` and the installed versions of
    ``packages`` (the numerical ones by default; a caller whose result does not depend on them,
    such as a table shipped with the code, names the few that do)."""
    blob = json.dumps({"name": name, "inputs": _exact(inputs), "code": _fingerprint(tuple(modules), tuple(packages))}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def arrays(name: str, inputs: Mapping, modules: tuple[str, ...], compute: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``compute()``'s arrays, from the cache when an entry for exactly these inputs exists.

    ``modules``: the modules whose source determines the result (their text is part of the key).
    """
    where = folder()
    if where is None:
        return dict(compute())
    path = where / f"{name}-{key_of(name, inputs, modules)}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    except (OSError, ValueError, KeyError, EOFError):
        pass  # absent, or unreadable (a foreign or truncated file): rebuilt below
    result = {k: np.asarray(v) for k, v in compute().items()}
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=f".{name}-", suffix=".npz.partial")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **result)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a read-only or full disk costs the next run the time, never this run's result
    return result

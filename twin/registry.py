"""Registered kinds: every model kind comes from the entry-point group ``ilrs_twin.kinds``.

The project's own kinds register there too (see pyproject.toml), so an outside package adds a
kind just by being installed with an entry point ``name = "package.module:ModelClass"``.
"""
from __future__ import annotations

import functools
from importlib.metadata import entry_points

from twin.model import Model

GROUP = "ilrs_twin.kinds"


class KindError(ValueError):
    pass


@functools.lru_cache(maxsize=1)
def kinds() -> dict[str, type[Model]]:
    """Kind name -> model class, in name order; each entry point is checked once."""
    found: dict[str, type[Model]] = {}
    origins: dict[str, str] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise KindError(f"entry point {ep.name} = {ep.value!r} in {GROUP} is not a twin.model.Model subclass")
        if getattr(cls, "kind", None) != ep.name:
            raise KindError(f"entry point {ep.name} = {ep.value!r}: its class declares kind {getattr(cls, 'kind', None)!r}")
        if ep.name in found and origins[ep.name] != ep.value:
            raise KindError(f"kind {ep.name!r} is registered twice: {origins[ep.name]} and {ep.value}")
        found[ep.name], origins[ep.name] = cls, ep.value
    return found


def origin(kind: str) -> str:
    """Where a kind comes from: 'module:Class' and the distribution that registers it."""
    for ep in entry_points(group=GROUP):
        if ep.name == kind:
            dist = ep.dist.name if ep.dist is not None else "?"
            return f"{ep.value} ({dist})"
    raise KindError(f"no kind {kind!r}")


def get(kind: str) -> type[Model]:
    registered = kinds()
    if kind not in registered:
        raise KindError(f"unknown kind {kind!r}; registered kinds: {', '.join(registered)} (see `ilrs-twin kinds`)")
    return registered[kind]

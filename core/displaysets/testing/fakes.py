"""Fake installed distributions and isolated plugin hosts, for discovery tests.

Following pluggy's own tests, discovery is exercised with fake
``importlib.metadata`` distributions rather than by installing packages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import importlib_metadata

from displaysets.plugins import ENTRY_POINT_GROUP, PluginHost


class FakeDistribution(importlib_metadata.Distribution):
    """A distribution that exists only in memory, with entry points of our group.

    Parameters
    ----------
    name, version
        The distribution's metadata.
    entry_points
        Entry-point name -> ``"module:attribute"`` or ``"module"`` for the
        ``displaysets`` group.
    """

    def __init__(
        self, name: str, version: str = "1.0", entry_points: Mapping[str, str] = {}
    ) -> None:
        self._name = name
        self._version = version
        self._entry_points = dict(entry_points)

    def read_text(self, filename: str) -> str | None:
        if filename == "METADATA":
            return (
                f"Metadata-Version: 2.1\nName: {self._name}\nVersion: {self._version}\n"
            )
        if filename == "entry_points.txt":
            lines = [f"[{ENTRY_POINT_GROUP}]"]
            lines += [f"{k} = {v}" for k, v in self._entry_points.items()]
            return "\n".join(lines) + "\n"
        return None

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        return Path(path)


def entry_points_of(
    distributions: Sequence[FakeDistribution],
) -> list[importlib_metadata.EntryPoint]:
    """The ``displaysets`` entry points of the fake distributions, dist attached."""
    found: list[importlib_metadata.EntryPoint] = []
    for distribution in distributions:
        found.extend(
            ep for ep in distribution.entry_points if ep.group == ENTRY_POINT_GROUP
        )
    return found


def isolated_host(*plugins: tuple[object, str], **options: Any) -> PluginHost:
    """A host with the built-ins and the given ``(plugin, name)`` pairs only; no
    entry points are read and no environment configuration applies."""
    options.setdefault("allow", ())
    options.setdefault("block", ())
    options.setdefault("handler_order", ())
    host = PluginHost(autoload=False, **options)
    for plugin, name in plugins:
        host.register(plugin, name)
    return host

"""Shared fixtures of the core test suite: synthetic DICOM files and plugin state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import make_dataset


@pytest.fixture
def write_dicom(tmp_path: Path) -> Callable[..., Path]:
    """Write a synthetic instance to a file under ``tmp_path`` and return its path."""
    counter = [0]

    def write(name: str | None = None, **kwargs: Any) -> Path:
        counter[0] += 1
        dataset = make_dataset(**kwargs)
        path = tmp_path / (name or f"instance{counter[0]:04d}.dcm")
        path.parent.mkdir(parents=True, exist_ok=True)
        dataset.save_as(path, enforce_file_format=True)
        return path

    return write


@pytest.fixture(autouse=True)
def _no_plugin_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never depend on the developer's plugin environment variables."""
    for variable in (
        "DISPLAYSETS_PLUGINS",
        "DISPLAYSETS_BLOCK_PLUGINS",
        "DISPLAYSETS_HANDLER_ORDER",
    ):
        monkeypatch.delenv(variable, raising=False)

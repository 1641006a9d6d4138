"""pytest plugin shipped with displaysets (entry point ``pytest11``): fixtures for
plugin authors' tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from displaysets.plugins import PluginHost
from displaysets.testing.corpus import corpus_dir
from displaysets.testing.fakes import FakeDistribution, entry_points_of, isolated_host


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "corpus: needs the shared DICOM corpus (DISPLAYSETS_CORPUS)"
    )


@pytest.fixture
def displaysets_host() -> PluginHost:
    """A plugin host with only the built-in handlers: no entry points, no env."""
    return isolated_host()


@pytest.fixture
def displaysets_corpus() -> Path:
    """The shared corpus folder; skips the test when it is absent."""
    path = corpus_dir()
    if not path.is_dir():
        pytest.skip(f"DICOM corpus not found at {path}")
    return path


@pytest.fixture
def fake_distributions() -> Iterator[Callable[..., PluginHost]]:
    """Build a host from fake installed distributions.

    Call it as ``fake_distributions(FakeDistribution("dist", "1.0", {"name":
    "module"}), ..., allow=..., block=...)``; the modules named must be importable.
    """

    def build(*distributions: FakeDistribution, **options: object) -> PluginHost:
        options.setdefault("allow", ())
        options.setdefault("block", ())
        options.setdefault("handler_order", ())
        host = PluginHost(autoload=False, builtins=False, **options)  # type: ignore[arg-type]
        host.load_entry_points(entry_points_of(list(distributions)))
        return host

    yield build

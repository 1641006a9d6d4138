"""Fixtures of the DICOMweb tests: a real Orthanc on loopback and a scripted mock.

The helper modules sit next to this file and are loaded by path, since the tests run
with ``--import-mode=importlib`` and this folder is not a package.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from displaysets.testing import corpus_dir

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent


def _load(name: str) -> ModuleType:
    qualified = f"displaysets_dicomweb_tests_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


orthanc_server = _load("orthanc_server")
mock_dicomweb = _load("mock_dicomweb")


@dataclass
class CorpusOnOrthanc:
    """An Orthanc holding the corpus, and which files it kept."""

    server: Any
    stored: list[Path] = field(default_factory=list)
    """The stored files; of files stored under one Orthanc ID, the last uploaded."""
    refused: list[Path] = field(default_factory=list)


def _require_orthanc() -> None:
    reason = orthanc_server.missing_reason()
    if reason:
        pytest.skip(f"no Orthanc for the DICOMweb tests: {reason}")
    if not orthanc_server.only_loopback_network():
        warnings.warn(
            "Orthanc listens on all interfaces outside a network namespace; run the "
            "DICOMweb tests under `unshare --net` to keep it on loopback",
            stacklevel=2,
        )


def corpus_files() -> list[Path]:
    """Every file of the corpus except the licence texts, sorted."""
    root = corpus_dir()
    if not root.is_dir():
        pytest.skip(f"DICOM corpus not found at {root} (set DISPLAYSETS_CORPUS)")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and "LICENSES" not in p.relative_to(root).parts
    )


@pytest.fixture(scope="session")
def start_orthanc(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Any]]:
    """Start Orthanc servers on demand; every one is stopped by its pid at the end."""
    _require_orthanc()
    started: list[Any] = []

    def start(dicomweb_options: dict[str, Any] | None = None) -> Any:
        server = orthanc_server.OrthancServer(
            tmp_path_factory.mktemp("orthanc"), dicomweb_options
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _upload_corpus(server: Any) -> CorpusOnOrthanc:
    result = CorpusOnOrthanc(server)
    by_id: dict[str, Path] = {}
    for path in corpus_files():
        upload = server.upload(path)
        if upload.stored:
            by_id.pop(upload.orthanc_id, None)
            by_id[upload.orthanc_id] = path
        else:
            result.refused.append(path)
    result.stored = sorted(by_id.values())
    if not result.stored:
        pytest.skip("Orthanc stored none of the corpus files")
    return result


@pytest.fixture(scope="session")
def orthanc_corpus(start_orthanc: Callable[..., Any]) -> CorpusOnOrthanc:
    """An Orthanc with the whole corpus uploaded over its REST API."""
    return _upload_corpus(start_orthanc())


@pytest.fixture(scope="session")
def reduced_orthanc_corpus(start_orthanc: Callable[..., Any]) -> CorpusOnOrthanc:
    """An Orthanc whose series metadata holds only its main DICOM tags."""
    server = start_orthanc(
        {"SeriesMetadata": "MainDicomTags", "StudiesMetadata": "MainDicomTags"}
    )
    return _upload_corpus(server)


@pytest.fixture
def dicomweb_mock() -> Iterator[Any]:
    """A scripted DICOMweb server on a free loopback port."""
    with mock_dicomweb.serve() as mock:
        yield mock

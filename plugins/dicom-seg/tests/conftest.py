"""Fixtures of the dicom-seg tests: a host with the plugin, corpus paths, edited
copies."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import displaysets_dicom_seg.plugin as seg_plugin
import pydicom
import pytest
from displaysets import DisplaySet, DisplaySetService, PluginHost, scan
from displaysets.testing import require_corpus
from pydicom.dataset import Dataset

Scan = Callable[[Sequence[Path]], DisplaySetService]
Rewrite = Callable[[str, Callable[[Dataset], None]], Path]
One = Callable[[Sequence[Path]], DisplaySet]


@pytest.fixture
def seg_dir() -> Path:
    return require_corpus("seg")


@pytest.fixture
def corpus() -> Path:
    return require_corpus()


def make_host() -> PluginHost:
    host = PluginHost(autoload=False, allow=(), block=(), handler_order=())
    host.register(seg_plugin, "dicom-seg", distribution="displaysets-dicom-seg")
    return host


@pytest.fixture
def scan_paths() -> Scan:
    def run(paths: Sequence[Path]) -> DisplaySetService:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return scan(list(paths), host=make_host())

    return run


def seg_display_sets(service: DisplaySetService) -> list[DisplaySet]:
    return [d for d in service.display_sets if d.plugin == "seg"]


@pytest.fixture
def scan_one(scan_paths: Scan) -> One:
    """Scan paths and return the one segmentation display set among the results."""

    def run(paths: Sequence[Path]) -> DisplaySet:
        found = seg_display_sets(scan_paths(paths))
        assert len(found) == 1, [d.plugin for d in found]
        return found[0]

    return run


@pytest.fixture
def seg_sets() -> Callable[[DisplaySetService], list[DisplaySet]]:
    return seg_display_sets


@pytest.fixture
def rewrite(seg_dir: Path, tmp_path: Path) -> Rewrite:
    """Copy a corpus segmentation into ``tmp_path`` after ``edit`` changed it."""

    def run(name: str, edit: Callable[[Dataset], None]) -> Path:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(seg_dir / name)
        edit(dataset)
        target = tmp_path / f"edited_{name}"
        dataset.save_as(target, enforce_file_format=False)
        return target

    return run

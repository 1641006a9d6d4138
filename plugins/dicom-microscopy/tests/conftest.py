"""Fixtures of the dicom-microscopy tests: an isolated host with the plugin, and
whole slide files derived from the corpus into a temporary folder (TILED_SPARSE with
missing tiles, a level split into a concatenation)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path

import displaysets_dicom_microscopy.plugin as microscopy_plugin
import pydicom
import pytest
from displaysets import DisplaySet, PluginHost
from displaysets.service import DisplaySetService
from displaysets.sources.files import FileSource
from displaysets.testing import require_corpus
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

SLIDE_HANDLER = "displaysets-dicom-microscopy.slide"
ANNOTATION_HANDLER = "displaysets-dicom-microscopy.annotations"


def make_host() -> PluginHost:
    host = PluginHost(
        autoload=False, builtins=True, allow=(), block=(), handler_order=()
    )
    host.register(
        microscopy_plugin,
        "dicom-microscopy",
        distribution="displaysets-dicom-microscopy",
    )
    return host


def scan(paths: Sequence[Path]) -> DisplaySetService:
    service = DisplaySetService(make_host())
    service.add_source(FileSource(list(paths)))
    return service


def slides(service: DisplaySetService) -> list[DisplaySet]:
    return [d for d in service.display_sets if d.sop_class_handler_id == SLIDE_HANDLER]


def _frames(dataset: Dataset) -> list[bytes]:
    """Native frames of an uncompressed dataset."""
    size = dataset.Rows * dataset.Columns * dataset.SamplesPerPixel
    size *= dataset.BitsAllocated // 8
    data = dataset.PixelData
    return [data[i * size : (i + 1) * size] for i in range(int(dataset.NumberOfFrames))]


def write_sparse(source: Path, target: Path, drop: set[int]) -> Dataset:
    """A TILED_SPARSE copy of a native TILED_FULL image without the frames ``drop``
    (0-based, row-major tile order), with per-frame positions."""
    dataset = pydicom.dcmread(source)
    frames = _frames(dataset)
    tiles_x = -(-int(dataset.TotalPixelMatrixColumns) // int(dataset.Columns))
    kept = []
    items = []
    for index, frame in enumerate(frames):
        if index in drop:
            continue
        kept.append(frame)
        position = Dataset()
        position.ColumnPositionInTotalImagePixelMatrix = (
            index % tiles_x
        ) * dataset.Columns + 1
        position.RowPositionInTotalImagePixelMatrix = (
            index // tiles_x
        ) * dataset.Rows + 1
        position.XOffsetInSlideCoordinateSystem = 0
        position.YOffsetInSlideCoordinateSystem = 0
        position.ZOffsetInSlideCoordinateSystem = 0
        path = Dataset()
        path.OpticalPathIdentifier = dataset.OpticalPathSequence[
            0
        ].OpticalPathIdentifier
        item = Dataset()
        item.PlanePositionSlideSequence = DicomSequence([position])
        item.OpticalPathIdentificationSequence = DicomSequence([path])
        items.append(item)
    dataset.PerFrameFunctionalGroupsSequence = DicomSequence(items)
    dataset.DimensionOrganizationType = "TILED_SPARSE"
    dataset.NumberOfFrames = len(kept)
    dataset.PixelData = b"".join(kept)
    dataset.SOPInstanceUID = generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.SeriesInstanceUID = generate_uid()
    dataset.save_as(target, enforce_file_format=True)
    return dataset


def write_concatenation(
    source: Path, folder: Path, split: int, parts: Sequence[int] = (1, 2)
) -> list[Path]:
    """The image cut into two concatenation parts at frame ``split``; only the parts
    numbered in ``parts`` are written."""
    original = pydicom.dcmread(source)
    frames = _frames(original)
    concatenation_uid = generate_uid()
    series_uid = generate_uid()
    written = []
    for number, (begin, end) in enumerate(((0, split), (split, len(frames))), 1):
        if number not in parts:
            continue
        dataset = copy.deepcopy(original)
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.SeriesInstanceUID = series_uid
        dataset.ConcatenationUID = concatenation_uid
        dataset.SOPInstanceUIDOfConcatenationSource = original.SOPInstanceUID
        dataset.InConcatenationNumber = number
        dataset.InConcatenationTotalNumber = 2
        dataset.ConcatenationFrameOffsetNumber = begin
        dataset.NumberOfFrames = end - begin
        dataset.PixelData = b"".join(frames[begin:end])
        dataset.InstanceNumber = number
        path = folder / f"part{number}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


class Helpers:
    """The helpers above, handed to tests through the ``microscopy`` fixture (test
    modules cannot import this conftest under ``--import-mode=importlib``)."""

    slide_handler = SLIDE_HANDLER
    annotation_handler = ANNOTATION_HANDLER
    make_host = staticmethod(make_host)
    scan = staticmethod(scan)
    slides = staticmethod(slides)
    write_sparse = staticmethod(write_sparse)
    write_concatenation = staticmethod(write_concatenation)


@pytest.fixture
def microscopy() -> Helpers:
    return Helpers()


@pytest.fixture
def native_slide() -> Path:
    return require_corpus("sm", "highdicom_sm_image.dcm")


@pytest.fixture
def derive(tmp_path: Path) -> Callable[[str], Path]:
    """A fresh folder below the test's temporary folder."""

    def folder(name: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        return path

    return folder

"""Malformed segmentations become display sets with messages; nothing escapes."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import highdicom
import numpy as np
import pytest
from displaysets import ContentError, DisplaySet, DisplaySetService, Severity
from displaysets_dicom_seg.content import load_segmentation
from pydicom.dataset import Dataset

Scan = Callable[[Sequence[Path]], DisplaySetService]
Rewrite = Callable[[str, Callable[[Dataset], None]], Path]

LIVER = "dcmqi_liver_seg.dcm"
OVERLAP = "highdicom_seg_image_ct_binary_overlap.dcm"


def _seg(service: DisplaySetService) -> DisplaySet:
    assert not [
        m for d in service.display_sets for m in d.messages if m.code == "HANDLER_ERROR"
    ]
    (display_set,) = [d for d in service.display_sets if d.plugin == "seg"]
    return display_set


def _message(display_set: DisplaySet, code: str) -> str:
    texts = [m.text for m in display_set.messages if m.code == code]
    assert len(texts) == 1, [m.code for m in display_set.messages]
    return texts[0]


def test_no_references_at_all(scan_paths: Scan, rewrite: Rewrite) -> None:
    def drop(dataset: Dataset) -> None:
        del dataset.ReferencedSeriesSequence
        del dataset.FrameOfReferenceUID
        for item in dataset.PerFrameFunctionalGroupsSequence:
            del item.DerivationImageSequence

    path = rewrite(LIVER, drop)
    display_set = _seg(scan_paths([path]))
    assert display_set.references == []
    assert display_set.attributes["referencesFoundIn"] is None
    text = _message(display_set, "NO_SOURCE_REFERENCES")
    assert text.startswith(str(path))
    assert text.endswith("nothing ties it to images")
    # Frames still have positions, so the masks still load.
    content = load_segmentation(display_set)
    assert content.analysis.layout.placement == "ImagePositionPatient"
    assert int(content.mask(1).array.sum()) == 107098


def test_gaps_in_segment_numbers(scan_paths: Scan, rewrite: Rewrite) -> None:
    def renumber(dataset: Dataset) -> None:
        dataset.SegmentSequence[1].SegmentNumber = 3
        for item in dataset.PerFrameFunctionalGroupsSequence:
            identification = item.SegmentIdentificationSequence[0]
            if identification.ReferencedSegmentNumber == 2:
                identification.ReferencedSegmentNumber = 3

    path = rewrite(OVERLAP, renumber)
    display_set = _seg(scan_paths([path]))
    text = _message(display_set, "SEGMENT_NUMBERS_NOT_CONSECUTIVE")
    assert "Segment Numbers are 1, 3" in text
    assert "(missing: 2)" in text
    assert [s["SegmentNumber"] for s in display_set.attributes["segments"]] == [1, 3]
    content = load_segmentation(display_set)
    assert int(content.mask(3).array.sum()) == 16


def test_frames_of_undeclared_segments_are_left_out(
    scan_paths: Scan, seg_dir: Path, rewrite: Rewrite
) -> None:
    def undeclare(dataset: Dataset) -> None:
        del dataset.SegmentSequence[1]

    path = rewrite(OVERLAP, undeclare)
    display_set = _seg(scan_paths([path]))
    text = _message(display_set, "FRAME_SEGMENT_UNDECLARED")
    assert "4 frame(s) (first: 5) belong to segment(s) 2" in text
    assert display_set.attributes["numberOfSegments"] == 1
    content = load_segmentation(display_set)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = highdicom.seg.segread(seg_dir / OVERLAP)
        expected = original.get_pixels_by_source_instance(
            [p.source_sop_instance_uid for p in content.planes], segment_numbers=[1]
        )[..., 0]
    np.testing.assert_array_equal(content.mask(1).array, expected)


def test_everything_in_the_shared_groups(scan_paths: Scan, rewrite: Rewrite) -> None:
    def share(dataset: Dataset) -> None:
        first = dataset.PerFrameFunctionalGroupsSequence[0]
        shared = dataset.SharedFunctionalGroupsSequence[0]
        for element in first:
            if element.keyword != "FrameContentSequence":
                shared[element.tag] = element
        del dataset.PerFrameFunctionalGroupsSequence

    path = rewrite(LIVER, share)
    display_set = _seg(scan_paths([path]))
    codes = [m.code for m in display_set.messages]
    assert "NO_PER_FRAME_FUNCTIONAL_GROUPS" in codes
    assert "all 3 frames share the shared functional groups" in _message(
        display_set, "NO_PER_FRAME_FUNCTIONAL_GROUPS"
    )
    assert "2 frame(s) (first: 2) repeat the place" in _message(
        display_set, "FRAMES_DUPLICATED"
    )
    content = load_segmentation(display_set)
    assert len(content.planes) == 1
    assert content.mask(1).array.shape == (1, 512, 512)


def test_pixel_data_shorter_than_its_frames(scan_paths: Scan, rewrite: Rewrite) -> None:
    def shorten(dataset: Dataset) -> None:
        dataset.PixelData = dataset.PixelData[: 512 * 512 // 8 * 2]

    path = rewrite(LIVER, shorten)
    display_set = _seg(scan_paths([path]))
    text = _message(display_set, "PIXEL_DATA_TOO_SHORT")
    assert text == f"{path}: Pixel Data holds 65536 bytes; 3 frame(s) need 98304"
    content = load_segmentation(display_set)
    with pytest.raises(ContentError, match=r"Pixel Data holds 65536 bytes"):
        content.mask(1)


def test_truncated_file(scan_paths: Scan, seg_dir: Path, tmp_path: Path) -> None:
    data = (seg_dir / LIVER).read_bytes()
    path = tmp_path / "truncated.dcm"
    path.write_bytes(data[: len(data) - 40000])
    display_set = _seg(scan_paths([path]))
    assert any(
        m.code == "TRUNCATED" and m.severity is Severity.ERROR
        for m in display_set.messages
    )
    content = load_segmentation(display_set)
    with pytest.raises(ContentError, match=str(path)):
        content.mask(1)


def test_encapsulated_pixel_data_with_missing_frames(
    scan_paths: Scan, seg_dir: Path, rewrite: Rewrite
) -> None:
    def declare_more(dataset: Dataset) -> None:
        dataset.NumberOfFrames = 5

    path = rewrite("pydicom-data_liver_rle.dcm", declare_more)
    display_set = _seg(scan_paths([path]))
    assert "FRAME_COUNT_MISMATCH" in [m.code for m in display_set.messages]
    with pytest.raises(ContentError, match="frame"):
        load_segmentation(display_set).mask(1)


def test_segmentation_without_segments(scan_paths: Scan, rewrite: Rewrite) -> None:
    def drop(dataset: Dataset) -> None:
        del dataset.SegmentSequence

    display_set = _seg(scan_paths([rewrite(LIVER, drop)]))
    assert display_set.attributes["numberOfSegments"] == 0
    _message(display_set, "NO_SEGMENTS")
    assert "FRAME_SEGMENT_UNDECLARED" in [m.code for m in display_set.messages]


def test_unreadable_metadata_still_gives_a_display_set(
    scan_paths: Scan, rewrite: Rewrite
) -> None:
    def corrupt(dataset: Dataset) -> None:
        dataset.SegmentationType = "CLOUDY"
        dataset.SegmentSequence[0].RecommendedDisplayCIELabValue = [1, 2]

    display_set = _seg(scan_paths([rewrite(LIVER, corrupt)]))
    _message(display_set, "SEGMENTATION_TYPE_UNKNOWN")
    assert display_set.attributes["segments"][0]["recommendedDisplayRGBValue"] is None


def test_one_bad_file_leaves_the_others_alone(
    scan_paths: Scan, seg_dir: Path, rewrite: Rewrite
) -> None:
    def break_it(dataset: Dataset) -> None:
        del dataset.SegmentSequence
        del dataset.PerFrameFunctionalGroupsSequence

    service = scan_paths([rewrite(LIVER, break_it), seg_dir / OVERLAP])
    segs = [d for d in service.display_sets if d.plugin == "seg"]
    assert len(segs) == 2
    good = [d for d in segs if Path(d.instances[0].location).name == OVERLAP]
    assert good and not good[0].has_errors

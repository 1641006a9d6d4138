"""Masks loaded through the plugin equal highdicom's own reading of the same files."""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import highdicom
import numpy as np
import pytest
from displaysets import ContentError, DisplaySet, DisplaySetService
from displaysets_dicom_seg.content import SegmentationContent, load_segmentation
from pydicom.dataset import Dataset

One = Callable[[Sequence[Path]], DisplaySet]
Rewrite = Callable[[str, Callable[[Dataset], None]], Path]

LIVER = "dcmqi_liver_seg.dcm"
"""dcmqi's liver SEG; the RLE, deflated and big-endian files carry the same masks."""


def _read(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return highdicom.seg.segread(path)


def _load(scan_one: One, path: Path) -> SegmentationContent:
    return load_segmentation(scan_one([path]))


def _highdicom_by_planes(seg: Any, content: SegmentationContent) -> np.ndarray:
    """highdicom's masks for the plugin's planes, segments down the last axis."""
    numbers = [n for n in seg.segment_numbers]
    planes = content.planes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if planes[0].source_frame_number:
            return seg.get_pixels_by_source_frame(
                planes[0].source_sop_instance_uid,
                [p.source_frame_number for p in planes],
                segment_numbers=numbers,
                ignore_spatial_locations=True,
            )
        return seg.get_pixels_by_source_instance(
            [p.source_sop_instance_uid for p in planes],
            segment_numbers=numbers,
            ignore_spatial_locations=True,
        )


@pytest.mark.parametrize(
    "name",
    [
        LIVER,
        "pydicom-data_liver_nonbyte_aligned.dcm",
        "dcmqi_sparse-labelmap-noppv.dcm",
        "dcmqi_sr-example_seg.dcm",
        "highdicom_seg_image_ct_binary.dcm",
        "highdicom_seg_image_ct_binary_overlap.dcm",
        "highdicom_seg_image_ct_true_fractional.dcm",
        "highdicom_seg_image_sm_numbers.dcm",
        "highdicom_seg_image_sm_control_labelmap.dcm",
    ],
)
def test_masks_equal_highdicom(scan_one: One, seg_dir: Path, name: str) -> None:
    content = _load(scan_one, seg_dir / name)
    seg = _read(seg_dir / name)
    expected = _highdicom_by_planes(seg, content)
    mine = np.stack([content.mask(n).array for n in seg.segment_numbers], axis=-1)
    assert mine.shape == expected.shape
    assert mine.dtype == expected.dtype
    np.testing.assert_array_equal(mine, expected)


@pytest.mark.parametrize(
    "name",
    [
        "pydicom-data_liver_rle.dcm",
        "pydicom-data_liver_deflate.dcm",
        "pydicom_liver_expb_1frame.dcm",
    ],
)
def test_encodings_highdicom_cannot_read_give_the_liver_masks(
    scan_one: One, seg_dir: Path, name: str
) -> None:
    content = _load(scan_one, seg_dir / name)
    liver = _read(seg_dir / LIVER)
    uids = [p.source_sop_instance_uid for p in content.planes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = liver.get_pixels_by_source_instance(
            uids, ignore_spatial_locations=True
        )[..., 0]
    mask = content.mask(1).array
    assert mask.shape == expected.shape
    np.testing.assert_array_equal(mask, expected)
    assert int(mask.sum()) > 0


def test_fractional_masks_placed_by_position_equal_highdicom_frames(
    scan_one: One, seg_dir: Path
) -> None:
    name = "ispy1_MR_UnspecifiedLength_fractional_seg.dcm"
    content = _load(scan_one, seg_dir / name)
    seg = _read(seg_dir / name)
    assert content.analysis.layout.placement == "ImagePositionPatient"
    mask = content.mask(1)
    assert mask.array.dtype == np.float32
    assert mask.array.shape == (27, 256, 256)
    for number, item in enumerate(seg.PerFrameFunctionalGroupsSequence, 1):
        position = tuple(
            float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient
        )
        index = [tuple(p.image_position or ()) for p in content.planes].index(position)
        expected = seg.get_stored_frame(number).astype(np.float32) / np.float32(255)
        np.testing.assert_array_equal(mask.array[index], expected)
    # This file stores only 0 and its Maximum Fractional Value 255.
    assert {float(v) for v in np.unique(mask.array)} == {0.0, 1.0}


def test_planes_are_ordered_along_the_slice_normal(
    scan_one: One, seg_dir: Path
) -> None:
    content = _load(scan_one, seg_dir / "ispy1_MR_UnspecifiedLength_fractional_seg.dcm")
    orientation = content.analysis.layout.frames[0].image_orientation
    assert orientation is not None
    normal = np.cross(orientation[:3], orientation[3:])
    distances = [
        float(np.dot(p.image_position or (0.0, 0.0, 0.0), normal))
        for p in content.planes
    ]
    assert all(p.image_position is not None for p in content.planes)
    assert distances == sorted(distances)


def test_overlapping_segments_stay_apart(scan_one: One, seg_dir: Path) -> None:
    content = _load(scan_one, seg_dir / "highdicom_seg_image_ct_binary_overlap.dcm")
    first, second = content.mask(1).array, content.mask(2).array
    assert int((first & second).sum()) > 0
    assert not np.array_equal(first, second)


def test_label_map_array_holds_segment_numbers(scan_one: One, seg_dir: Path) -> None:
    name = "highdicom_seg_image_sm_control_labelmap.dcm"
    content = _load(scan_one, seg_dir / name)
    seg = _read(seg_dir / name)
    planes = content.planes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = seg.get_pixels_by_source_frame(
            planes[0].source_sop_instance_uid,
            [p.source_frame_number for p in planes],
            combine_segments=True,
        )
    np.testing.assert_array_equal(content.label_map(), expected)
    assert content.mask(0).array.sum() == (expected == 0).sum()


def test_binary_segmentation_has_no_label_map(scan_one: One, seg_dir: Path) -> None:
    content = _load(scan_one, seg_dir / LIVER)
    with pytest.raises(ContentError, match="BINARY segmentation has no label map"):
        content.label_map()


def test_for_source_picks_the_plane_of_a_source_image(
    scan_one: One, seg_dir: Path
) -> None:
    content = _load(scan_one, seg_dir / LIVER)
    liver = _read(seg_dir / LIVER)
    uid = "1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23432.1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = liver.get_pixels_by_source_instance(
            [uid], ignore_spatial_locations=True
        )[0, ..., 0]
    np.testing.assert_array_equal(content.mask(1).for_source(uid), expected)


def _shuffle_frames(dataset: Dataset) -> None:
    frames = dataset.pixel_array.copy()
    if frames.ndim == 2:
        frames = frames[np.newaxis]
    order = list(range(len(frames)))
    random.Random(7).shuffle(order)
    assert order != sorted(order)
    items = list(dataset.PerFrameFunctionalGroupsSequence)
    dataset.PerFrameFunctionalGroupsSequence = [items[i] for i in order]
    shuffled = frames[order]
    if dataset.BitsAllocated == 1:
        dataset.PixelData = np.packbits(
            shuffled.reshape(-1), bitorder="little"
        ).tobytes()
    else:
        dataset.PixelData = shuffled.astype(np.uint8).tobytes()


@pytest.mark.parametrize(
    "name",
    [
        "highdicom_seg_image_ct_binary_overlap.dcm",
        "ispy1_MR_UnspecifiedLength_fractional_seg.dcm",
    ],
)
def test_frames_in_any_order_give_the_same_masks(
    scan_one: One, seg_dir: Path, rewrite: Rewrite, name: str
) -> None:
    original = _load(scan_one, seg_dir / name)
    shuffled = _load(scan_one, rewrite(name, _shuffle_frames))
    assert shuffled.planes == original.planes
    for segment in original.segments:
        np.testing.assert_array_equal(
            shuffled.mask(segment.number).array, original.mask(segment.number).array
        )


def test_segment_without_frames_has_an_empty_mask(
    scan_one: One, seg_dir: Path, rewrite: Rewrite
) -> None:
    def add_segment(dataset: Dataset) -> None:
        extra = Dataset()
        extra.update(dataset.SegmentSequence[0])
        extra.SegmentNumber = 2
        extra.SegmentLabel = "nothing here"
        dataset.SegmentSequence.append(extra)

    content = _load(scan_one, rewrite(LIVER, add_segment))
    assert [s.number for s in content.segments] == [1, 2]
    empty = content.mask(2).array
    assert empty.shape == (3, 512, 512)
    assert int(empty.sum()) == 0
    assert int(content.mask(1).array.sum()) == 107098


def test_masks_iterates_declared_segments(scan_one: One, seg_dir: Path) -> None:
    content = _load(scan_one, seg_dir / "highdicom_seg_image_sm_numbers.dcm")
    assert [m.segment_number for m in content.masks()] == list(range(1, 21))
    with pytest.raises(KeyError, match="segment 21 is not declared"):
        content.mask(21)


def test_service_load_returns_the_content(
    seg_dir: Path, scan_paths: Callable[[Sequence[Path]], DisplaySetService]
) -> None:
    service = scan_paths([seg_dir / LIVER])
    (display_set,) = [d for d in service.display_sets if d.plugin == "seg"]
    content = service.load(display_set)
    assert isinstance(content, SegmentationContent)
    assert content.segmentation_type == "BINARY"

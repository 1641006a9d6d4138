"""Export of masks to NumPy .npz with a JSON sidecar."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from displaysets import DisplaySet, DisplaySetService, ExportError
from displaysets_dicom_seg.content import load_segmentation

Scan = Callable[[Sequence[Path]], DisplaySetService]
One = Callable[[Sequence[Path]], DisplaySet]


def test_export_to_a_folder_writes_npz_and_json(
    scan_one: One, seg_dir: Path, tmp_path: Path
) -> None:
    display_set = scan_one([seg_dir / "highdicom_seg_image_ct_binary_overlap.dcm"])
    written = load_segmentation(display_set)
    paths = display_set_export(display_set, tmp_path / "out")
    assert paths == [
        tmp_path / "out" / "segmentation.npz",
        tmp_path / "out" / "segmentation.json",
    ]
    arrays = np.load(paths[0])
    meta = json.loads(paths[1].read_text(encoding="utf-8"))
    assert sorted(arrays.files) == [
        "image_position_patient",
        "referenced_frame_numbers",
        "referenced_sop_instance_uids",
        "segment_1",
        "segment_2",
    ]
    for number in (1, 2):
        np.testing.assert_array_equal(
            arrays[f"segment_{number}"], written.mask(number).array
        )
    assert list(arrays["referenced_sop_instance_uids"]) == [
        p.source_sop_instance_uid for p in written.planes
    ]
    assert arrays["image_position_patient"].shape == (4, 3)
    assert meta["format"] == "displaysets-dicom-seg masks 1"
    assert meta["segmentationType"] == "BINARY"
    assert meta["displaySetInstanceUID"] == display_set.display_set_instance_uid
    assert [s["array"] for s in meta["segments"]] == ["segment_1", "segment_2"]
    assert [s["SegmentLabel"] for s in meta["segments"]] == [
        "first segment",
        "second segment",
    ]
    assert meta["labelMapArray"] is None
    assert len(meta["planes"]) == 4


def display_set_export(
    display_set: DisplaySet, destination: Path, overwrite: bool = False
) -> list[Path]:
    from displaysets_dicom_seg.plugin import SEG_HANDLER

    assert SEG_HANDLER.export is not None
    return SEG_HANDLER.export(display_set, destination, overwrite)


def test_export_label_map_to_an_npz_path(
    scan_one: One, seg_dir: Path, tmp_path: Path
) -> None:
    display_set = scan_one([seg_dir / "dcmqi_sparse-labelmap-noppv.dcm"])
    target = tmp_path / "labels.npz"
    paths = display_set_export(display_set, target)
    assert paths == [target, tmp_path / "labels.json"]
    arrays = np.load(target)
    np.testing.assert_array_equal(
        arrays["label_map"], load_segmentation(display_set).label_map()
    )
    np.testing.assert_array_equal(arrays["segment_1"], arrays["label_map"] == 1)
    meta = json.loads((tmp_path / "labels.json").read_text(encoding="utf-8"))
    assert meta["labelMapArray"] == "label_map"
    assert meta["segments"][1]["recommendedDisplayRGBValue"] == [221, 130, 101]


def test_export_refuses_to_overwrite(
    scan_one: One, seg_dir: Path, tmp_path: Path
) -> None:
    display_set = scan_one([seg_dir / "highdicom_seg_image_ct_binary.dcm"])
    display_set_export(display_set, tmp_path)
    with pytest.raises(ExportError, match="exists and is not replaced unless asked to"):
        display_set_export(display_set, tmp_path)
    assert len(display_set_export(display_set, tmp_path, overwrite=True)) == 2


def test_export_through_the_service(
    scan_paths: Scan, seg_dir: Path, tmp_path: Path
) -> None:
    service = scan_paths([seg_dir / "ispy1_MR_UnspecifiedLength_fractional_seg.dcm"])
    (display_set,) = [d for d in service.display_sets if d.plugin == "seg"]
    archive, _ = service.export(display_set, tmp_path / "ispy.npz")
    arrays = np.load(archive)
    assert arrays["segment_1"].dtype == np.float32
    assert arrays["segment_1"].shape == (27, 256, 256)
    assert list(arrays["referenced_frame_numbers"]) == [0] * 27
    assert list(arrays["referenced_sop_instance_uids"]) == [""] * 27


def test_export_to_a_file_that_is_not_npz(
    scan_one: One, seg_dir: Path, tmp_path: Path
) -> None:
    display_set = scan_one([seg_dir / "highdicom_seg_image_ct_binary.dcm"])
    target = tmp_path / "masks.txt"
    target.write_text("x")
    with pytest.raises(ExportError, match=r"exports to a folder or an \.npz path"):
        display_set_export(display_set, target)

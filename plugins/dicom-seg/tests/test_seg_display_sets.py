"""Segmentation display sets built from the corpus: fields, segments, colours."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import highdicom
import pydicom
import pytest
from displaysets import DisplaySet, DisplaySetService
from displaysets_dicom_seg.colors import dicom_lab_to_srgb

Scan = Callable[[Sequence[Path]], DisplaySetService]
One = Callable[[Sequence[Path]], DisplaySet]
SegSets = Callable[[DisplaySetService], list[DisplaySet]]

LIVER_CODES = {
    "SegmentedPropertyCategory": {
        "CodeValue": "T-D0050",
        "CodingSchemeDesignator": "SRT",
        "CodeMeaning": "Tissue",
    },
    "SegmentedPropertyType": {
        "CodeValue": "T-62000",
        "CodingSchemeDesignator": "SRT",
        "CodeMeaning": "Liver",
    },
}


def test_every_corpus_segmentation_is_one_derived_overlay_display_set(
    scan_paths: Scan, seg_sets: SegSets, seg_dir: Path
) -> None:
    files = sorted(seg_dir.glob("*.dcm"))
    display_sets = seg_sets(scan_paths(files))
    assert len(display_sets) == len(files)
    for display_set in display_sets:
        assert display_set.plugin == "seg"
        assert display_set.num_instances == 1
        assert display_set.is_derived is True
        assert display_set.is_overlay is True
        assert display_set.modality == "SEG"
        assert display_set.sop_class_handler_id == "displaysets-dicom-seg.seg"


def test_binary_liver_segment_fields(scan_one: One, seg_dir: Path) -> None:
    display_set = scan_one([seg_dir / "dcmqi_liver_seg.dcm"])
    data = display_set.to_json()
    assert data["segmentationType"] == "BINARY"
    assert data["segmentationFractionalType"] is None
    assert data["maximumFractionalValue"] is None
    assert data["numberOfSegments"] == 1
    assert data["numFrames"] == 3
    (segment,) = data["segments"]
    assert segment["SegmentNumber"] == 1
    assert segment["SegmentLabel"] == "Liver"
    assert segment["SegmentAlgorithmType"] == "SEMIAUTOMATIC"
    assert segment["SegmentAlgorithmName"] == "SlicerEditor"
    assert (
        segment["SegmentedPropertyCategory"] == LIVER_CODES["SegmentedPropertyCategory"]
    )
    assert segment["SegmentedPropertyType"] == LIVER_CODES["SegmentedPropertyType"]
    assert segment["RecommendedDisplayCIELabValue"] == [41661, 41167, 40792]
    # 3D Slicer's colour for liver, which dcmqi converted to this CIELab value.
    assert segment["recommendedDisplayRGBValue"] == [221, 130, 101]
    assert data["FrameOfReferenceUID"] == (
        "1.2.392.200103.20080913.113635.3.2009.6.22.21.44.34.23882.1"
    )
    assert data["referencesFoundIn"] == "ReferencedSeriesSequence"
    assert data["framesPlacedBy"] == "source image"
    assert data["numberOfPlanes"] == 3
    assert data["Rows"] == 512 and data["Columns"] == 512


def test_referenced_series_and_instances_are_listed(
    scan_one: One, seg_dir: Path
) -> None:
    data = scan_one([seg_dir / "dcmqi_liver_seg.dcm"]).to_json()
    series_uid = "1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1"
    prefix = "1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10."
    instances = [prefix + n for n in ("23433.1", "23432.1", "23431.1")]
    assert data["referencedSeries"] == [
        {"SeriesInstanceUID": series_uid, "ReferencedSOPInstanceUIDs": instances}
    ]
    assert [i["ReferencedSOPInstanceUID"] for i in data["referencedInstances"]] == (
        instances
    )
    assert {i["ReferencedSOPClassUID"] for i in data["referencedInstances"]} == {
        "1.2.840.10008.5.1.4.1.1.2"
    }
    assert [(r["kind"], r["uid"], r["purpose"]) for r in data["references"]] == [
        ("SeriesInstanceUID", series_uid, "source series"),
        *[("SOPInstanceUID", uid, "source image") for uid in instances],
    ]


def test_overlapping_segments_are_both_declared(scan_one: One, seg_dir: Path) -> None:
    data = scan_one([seg_dir / "highdicom_seg_image_ct_binary_overlap.dcm"]).to_json()
    assert data["numberOfSegments"] == 2
    assert [s["SegmentLabel"] for s in data["segments"]] == [
        "first segment",
        "second segment",
    ]
    assert [s["recommendedDisplayRGBValue"] for s in data["segments"]] == [None, None]
    assert data["numFrames"] == 8
    assert data["numberOfPlanes"] == 4


def test_fractional_type_and_maximum(scan_one: One, seg_dir: Path) -> None:
    probability = scan_one([seg_dir / "highdicom_seg_image_ct_true_fractional.dcm"])
    assert probability.attributes["segmentationType"] == "FRACTIONAL"
    assert probability.attributes["segmentationFractionalType"] == "PROBABILITY"
    assert probability.attributes["maximumFractionalValue"] == 255
    occupancy = scan_one([seg_dir / "ispy1_MR_UnspecifiedLength_fractional_seg.dcm"])
    assert occupancy.attributes["segmentationFractionalType"] == "OCCUPANCY"
    assert occupancy.attributes["maximumFractionalValue"] == 255
    assert occupancy.num_frames == 27
    (segment,) = occupancy.attributes["segments"]
    assert segment["SegmentLabel"] == "Breast"
    assert segment["SegmentDescription"] == (
        "Background Threshold, VOI limits for fibroglandular tissue mask."
    )
    assert segment["AnatomicRegions"] == [
        {
            "CodeValue": "T-04000",
            "CodingSchemeDesignator": "SRT",
            "CodeMeaning": "Breast",
        }
    ]
    assert segment["recommendedDisplayRGBValue"] is None


def test_label_map_segmentation_storage(scan_one: One, seg_dir: Path) -> None:
    display_set = scan_one([seg_dir / "highdicom_seg_image_sm_control_labelmap.dcm"])
    assert display_set.sop_class_uid == "1.2.840.10008.5.1.4.1.1.66.7"
    assert display_set.sop_class_name == "Label Map Segmentation Storage"
    data = display_set.to_json()
    assert data["segmentationType"] == "LABELMAP"
    assert data["numberOfSegments"] == 21
    assert [s["SegmentNumber"] for s in data["segments"]] == list(range(21))
    assert data["segments"][0]["SegmentLabel"] == "Background"
    assert data["segments"][1]["SegmentLabel"] == "RGB(37, 231, 253)"
    assert data["TotalPixelMatrixRows"] == 50
    assert data["TotalPixelMatrixColumns"] == 50
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(
            seg_dir / "highdicom_seg_image_sm_control_labelmap.dcm",
            stop_before_pixels=True,
        )
    source_frames = sorted(
        {
            int(
                item.DerivationImageSequence[0]
                .SourceImageSequence[0]
                .ReferencedFrameNumber
            )
            for item in dataset.PerFrameFunctionalGroupsSequence
        }
    )
    assert len(source_frames) == 20
    (referenced,) = data["referencedInstances"]
    assert referenced["ReferencedFrameNumber"] == source_frames
    assert display_set.messages[0].code == "REFERENCES_UNRESOLVED"


@pytest.mark.parametrize(
    "name",
    [
        "dcmqi_liver_seg.dcm",
        "dcmqi_sparse-labelmap-noppv.dcm",
        "dcmqi_sr-example_seg.dcm",
        "highdicom_seg_image_ct_binary_overlap.dcm",
        "highdicom_seg_image_sm_numbers.dcm",
        "highdicom_seg_image_sm_control_labelmap.dcm",
        "ispy1_MR_UnspecifiedLength_fractional_seg.dcm",
    ],
)
def test_segments_match_the_file_and_highdicom_colours(
    scan_one: One, seg_dir: Path, name: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(seg_dir / name, stop_before_pixels=True)
    data = scan_one([seg_dir / name]).to_json()
    assert data["numberOfSegments"] == len(dataset.SegmentSequence)
    for item, segment in zip(dataset.SegmentSequence, data["segments"], strict=True):
        assert segment["SegmentNumber"] == item.SegmentNumber
        assert segment["SegmentLabel"] == item.get("SegmentLabel", "")
        assert segment["SegmentAlgorithmType"] == item.SegmentAlgorithmType
        assert segment["SegmentedPropertyType"]["CodeMeaning"] == (
            item.SegmentedPropertyTypeCodeSequence[0].CodeMeaning
        )
        lab = item.get("RecommendedDisplayCIELabValue")
        if lab is None:
            assert segment["recommendedDisplayRGBValue"] is None
        else:
            expected = highdicom.color.CIELabColor.from_dicom_value(lab).to_rgb(
                clip=True
            )
            assert segment["recommendedDisplayRGBValue"] == [round(c) for c in expected]


def test_colour_conversion_fixed_points() -> None:
    assert dicom_lab_to_srgb([0, 32896, 32896]) == (0, 0, 0)
    assert dicom_lab_to_srgb([65535, 32896, 32896]) == (255, 255, 255)
    assert dicom_lab_to_srgb([41661, 41167, 40792]) == (221, 130, 101)


def test_records_are_json(scan_paths: Scan, seg_sets: SegSets, seg_dir: Path) -> None:
    for display_set in seg_sets(scan_paths(sorted(seg_dir.glob("*.dcm")))):
        data = json.loads(display_set.to_json_string())
        assert DisplaySet.from_json(data).to_json() == data


def test_big_endian_copy_with_more_per_frame_items_than_frames(
    scan_one: One, seg_dir: Path
) -> None:
    display_set = scan_one([seg_dir / "pydicom_liver_expb_1frame.dcm"])
    assert display_set.num_frames == 1
    assert display_set.attributes["numberOfPlanes"] == 1
    (text,) = [m.text for m in display_set.messages if m.code == "FRAME_COUNT_MISMATCH"]
    assert "has 3 items for 1 frame(s) of pixel data" in text

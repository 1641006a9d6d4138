"""Slide display sets of the corpus: levels, sizes and associated images, exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from displaysets.testing import require_corpus

SLIDE_HANDLER = "displaysets-dicom-microscopy.slide"
ANNOTATION_HANDLER = "displaysets-dicom-microscopy.annotations"

PYRAMIDS = ("wsidicom_pyramid_cmu1", "wsidicom_pyramid_camelyon")


@pytest.mark.parametrize("name", PYRAMIDS)
def test_a_toolmade_pyramid_is_one_display_set_with_its_levels(
    name: str, microscopy: Any
) -> None:
    folder = require_corpus("toolmade", "sm", name)
    expected = json.loads((folder / "pyramid.expected.json").read_text())
    service = microscopy.scan([folder])

    [slide] = microscopy.slides(service)
    levels = slide.attributes["levels"]
    assert slide.plugin == "microscopy"
    assert slide.series_instance_uid == expected["SeriesInstanceUID"]
    assert slide.attributes["pyramidUID"] == expected["PyramidUID"]
    assert len(levels) == expected["level_count"]
    for level, wanted in zip(levels, expected["levels"], strict=True):
        assert level["level"] == wanted["level"]
        assert level["sopInstanceUIDs"] == [wanted["SOPInstanceUID"]]
        assert level["imageType"] == wanted["ImageType"]
        assert level["totalPixelMatrixColumns"] == wanted["TotalPixelMatrixColumns"]
        assert level["totalPixelMatrixRows"] == wanted["TotalPixelMatrixRows"]
        assert (level["tileColumns"], level["tileRows"]) == (
            wanted["Columns"],
            wanted["Rows"],
        )
        assert level["numberOfFrames"] == wanted["NumberOfFrames"]
        assert level["pixelSpacing"] == wanted["PixelSpacing_mm"]
        assert level["dimensionOrganizationType"] == "TILED_FULL"
        assert level["focalPlanes"] == 1
        assert level["opticalPaths"] == ["1"]
        assert level["photometricInterpretation"] == "YBR_FULL_422"
        assert level["transferSyntaxUID"] == "1.2.840.10008.1.2.4.50"
        assert level["missingTiles"] == 0

    [label] = slide.attributes["associatedImages"]
    [wanted_label] = expected["other_instances"]
    assert label["imageFlavor"] == "LABEL"
    assert label["sopInstanceUID"] == wanted_label["SOPInstanceUID"]
    assert label["imageType"] == wanted_label["ImageType"]
    assert (label["tileColumns"], label["tileRows"]) == (
        wanted_label["Columns"],
        wanted_label["Rows"],
    )
    assert slide.num_instances == expected["level_count"] + 1
    assert slide.num_frames == sum(w["NumberOfFrames"] for w in expected["levels"]) + 1
    assert slide.attributes["thumbnail"] == {
        "imageFlavor": "VOLUME",
        "sopInstanceUID": expected["levels"][-1]["SOPInstanceUID"],
        "level": expected["level_count"] - 1,
    }
    assert slide.attributes["containerIdentifier"] == "TOOLMADE-SLIDE-1"
    assert [m.code for m in slide.messages] == []


def test_levels_are_ordered_by_resolution_whatever_the_file_order(
    microscopy: Any,
) -> None:
    folder = require_corpus("toolmade", "sm", "wsidicom_pyramid_camelyon")
    files = sorted(folder.glob("*.dcm"), reverse=True)
    [slide] = microscopy.slides(microscopy.scan(files))
    widths = [level["totalPixelMatrixColumns"] for level in slide.attributes["levels"]]
    assert widths == [1152, 576, 288, 144]
    assert [lv["downsample"] for lv in slide.attributes["levels"]] == [1, 2, 4, 8]


# Whole slide files of sm/ as the corpus MANIFEST describes them:
# (total pixel matrix, tile size, frames, photometric interpretation, transfer syntax)
SINGLE_LEVEL_FILES = {
    "ezwsi_multiframe_camelyon_challenge_image.dcm": (
        (1152, 700),
        (256, 256),
        15,
        "YBR_FULL_422",
        "1.2.840.10008.1.2.4.50",
    ),
    "highdicom_sm_image.dcm": ((50, 50), (10, 10), 25, "RGB", "1.2.840.10008.1.2.1"),
    "highdicom_sm_image_jpegls.dcm": (
        (50, 50),
        (10, 10),
        25,
        "RGB",
        "1.2.840.10008.1.2.4.80",
    ),
    "highdicom_sm_image_numbers.dcm": (
        (50, 50),
        (10, 10),
        25,
        "RGB",
        "1.2.840.10008.1.2.1",
    ),
    "wsi2dcm_jpeg.dcm": (
        (957, 715),
        (256, 256),
        12,
        "YBR_FULL_422",
        "1.2.840.10008.1.2.4.50",
    ),
    "wsi2dcm_jpeg2000.dcm": (
        (957, 715),
        (256, 256),
        12,
        "RGB",
        "1.2.840.10008.1.2.4.90",
    ),
}


@pytest.mark.parametrize("name", sorted(SINGLE_LEVEL_FILES))
def test_a_single_level_file_is_a_one_level_slide(name: str, microscopy: Any) -> None:
    path = require_corpus("sm", name)
    size, tile, frames, photometric, syntax = SINGLE_LEVEL_FILES[name]
    [slide] = microscopy.slides(microscopy.scan([path]))
    [level] = slide.attributes["levels"]
    assert (level["totalPixelMatrixColumns"], level["totalPixelMatrixRows"]) == size
    assert (level["tileColumns"], level["tileRows"]) == tile
    assert level["numberOfFrames"] == frames
    assert level["tileGridColumns"] * level["tileGridRows"] == frames
    assert level["photometricInterpretation"] == photometric
    assert level["transferSyntaxUID"] == syntax
    assert slide.attributes["associatedImages"] == []
    assert slide.attributes["thumbnail"]["imageFlavor"] == "VOLUME"


def test_every_sm_file_lands_in_a_display_set_of_this_plugin(microscopy: Any) -> None:
    folder = require_corpus("sm")
    service = microscopy.scan([folder])
    by_handler: dict[str, list[str]] = {}
    for display_set in service.display_sets:
        for uid in display_set.sop_instance_uids:
            by_handler.setdefault(display_set.sop_class_handler_id, []).append(uid)
    files = sorted(folder.glob("*.dcm"))
    assert len(by_handler[SLIDE_HANDLER]) == len(files) - 1
    assert len(by_handler[ANNOTATION_HANDLER]) == 1
    assert set(by_handler) == {SLIDE_HANDLER, ANNOTATION_HANDLER}


def test_a_label_alone_is_a_slide_without_levels(microscopy: Any) -> None:
    path = require_corpus("sm", "ezwsi_test_wsi_label.dcm")
    [slide] = microscopy.slides(microscopy.scan([path]))
    assert slide.attributes["levels"] == []
    [label] = slide.attributes["associatedImages"]
    assert label["imageFlavor"] == "LABEL"
    assert (label["totalPixelMatrixColumns"], label["totalPixelMatrixRows"]) == (
        234,
        117,
    )
    assert slide.attributes["thumbnail"]["imageFlavor"] == "LABEL"
    codes = {m.code for m in slide.messages}
    assert {"NO_PYRAMID_LEVELS", "CONCATENATION_INCOMPLETE"} <= codes


def test_optical_path_and_specimen_of_a_highdicom_slide(microscopy: Any) -> None:
    path = require_corpus("sm", "highdicom_sm_image_numbers.dcm")
    [slide] = microscopy.slides(microscopy.scan([path]))
    [optical_path] = slide.attributes["opticalPaths"]
    assert optical_path["identifier"] == "1"
    assert slide.attributes["containerIdentifier"] == "S19-1_A_1_1"
    assert [s["identifier"] for s in slide.attributes["specimens"]] == ["S19-1_A_1_1"]


def _dicomweb(name: str) -> Path:
    return require_corpus("dicomweb", name)


def test_dicom_json_pyramid_with_overview_and_thumbnail(microscopy: Any) -> None:
    service = microscopy.scan([_dicomweb("dmv_C3N-01016-22_wrapped.json")])
    [slide] = microscopy.slides(service)
    levels = slide.attributes["levels"]
    assert [
        (
            lv["totalPixelMatrixColumns"],
            lv["totalPixelMatrixRows"],
            lv["numberOfFrames"],
        )
        for lv in levels
    ] == [(47807, 47007, 39200), (11951, 11751, 2450), (2987, 2937, 169)]
    assert [lv["tileColumns"] for lv in levels] == [240, 240, 240]
    assert [a["imageFlavor"] for a in slide.attributes["associatedImages"]] == [
        "OVERVIEW",
        "THUMBNAIL",
    ]
    thumbnail = slide.attributes["thumbnail"]
    assert thumbnail["imageFlavor"] == "THUMBNAIL"
    assert thumbnail["sopInstanceUID"].endswith(".14.0")
    assert slide.attributes["containerIdentifier"] == "C3N-01016-22"
    assert slide.num_instances == 5


def test_dicom_json_optical_path_illumination_and_colour(microscopy: Any) -> None:
    [slide] = microscopy.slides(microscopy.scan([_dicomweb("dmv_metadata_wsi.json")]))
    [level] = slide.attributes["levels"]
    assert (level["totalPixelMatrixColumns"], level["totalPixelMatrixRows"]) == (
        374,
        297,
    )
    assert (level["tileColumns"], level["tileRows"]) == (512, 512)
    [path] = slide.attributes["opticalPaths"]
    assert path["identifier"] == "1"
    assert [c["meaning"] for c in path["illuminationTypes"]] == [
        "Epifluorescence Illumination"
    ]
    assert path["illuminationColor"] == {
        "value": "R-102C0",
        "scheme": "SRT",
        "meaning": "Full Spectrum",
    }
    assert path["objectiveLensPower"] == 0.15625
    assert path["hasICCProfile"] is True
    assert slide.attributes["totalPixelMatrixOrigin"] == [0.0, 0.0]
    assert slide.attributes["imageOrientationSlide"] == [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]


def test_dicom_json_instances_without_series_are_each_a_slide(microscopy: Any) -> None:
    service = microscopy.scan([_dicomweb("ezwsi_sample_instances_wrapped.json")])
    found = microscopy.slides(service)
    assert len(found) == 11
    assert all(len(d.attributes["levels"]) == 1 for d in found)
    assert sorted(d.attributes["levels"][0]["numberOfFrames"] for d in found) == [
        1,
        2,
        8,
        28,
        91,
        325,
        1250,
        2048,
        2048,
        2048,
        2048,
    ]


def test_slides_from_dicom_json_metadata_and_from_files_agree(
    tmp_path: Path, microscopy: Any
) -> None:
    import pydicom

    folder = require_corpus("toolmade", "sm", "wsidicom_pyramid_cmu1")
    objects = []
    for path in sorted(folder.glob("*.dcm")):
        dataset = pydicom.dcmread(path)
        obj = dataset.to_json_dict(
            bulk_data_threshold=1024,
            bulk_data_element_handler=lambda element: "http://127.0.0.1/bulk",
        )
        obj["00020010"] = {
            "vr": "UI",
            "Value": [str(dataset.file_meta.TransferSyntaxUID)],
        }
        objects.append(obj)
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps(objects))

    [from_files] = microscopy.slides(microscopy.scan([folder]))
    [from_json] = microscopy.slides(microscopy.scan([metadata]))
    assert from_json.display_set_instance_uid == from_files.display_set_instance_uid
    assert from_json.attributes == from_files.attributes
    assert from_json.num_frames == from_files.num_frames

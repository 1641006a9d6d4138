"""Display set records: OHIF keys, versioned JSON, deterministic UIDs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from displaysets import scan
from displaysets.records import DisplaySet, Reference, ReferenceKind
from displaysets.testing import isolated_host
from displaysets.uids import deterministic_uid, is_valid_uid

OHIF_KEYS = [
    "schemaVersion",
    "plugin",
    "Modality",
    "displaySetInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPInstanceUIDs",
    "SOPClassUID",
    "SOPClassName",
    "SOPClassHandlerId",
    "wadoRoot",
    "wadoUri",
    "SeriesDescription",
    "SeriesNumber",
    "SeriesDate",
    "numInstances",
    "numFrames",
    "isDerivedDisplaySet",
    "isOverlayDisplaySet",
    "messages",
    "references",
]


def test_a_record_has_the_keys_an_ohif_style_client_expects(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom(
        sop_instance_uid="1.2.3.10", SeriesDescription="Axial", InstanceNumber=1
    )
    (display_set,) = scan(tmp_path, host=isolated_host()).display_sets
    data = display_set.to_json()
    assert list(data)[: len(OHIF_KEYS)] == OHIF_KEYS
    assert data["SOPInstanceUID"] == "1.2.3.10"
    assert data["SOPInstanceUIDs"] == ["1.2.3.10"]
    assert data["SeriesDescription"] == "Axial"
    assert data["SOPClassName"] == "CT Image Storage"
    assert data["SOPClassHandlerId"] == "displaysets.images"
    assert DisplaySet.from_json(data).to_json() == data


def test_display_set_uids_are_the_same_on_every_run(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom(sop_instance_uid="1.2.3.11", series="1.2.3.4.9")
    first = (
        scan(tmp_path, host=isolated_host()).display_sets[0].display_set_instance_uid
    )
    again = (
        scan(tmp_path, host=isolated_host()).display_sets[0].display_set_instance_uid
    )
    assert first == again
    assert first == deterministic_uid(
        ["displaysets.images", "1.2.3.4", "1.2.3.4.9", "", "", "1.2.3.11"]
    )


def test_deterministic_uids_are_valid_2_25_uids() -> None:
    uid = deterministic_uid(["a", "b"])
    assert uid == "2.25.219499705842470741149011188391164556861"
    assert is_valid_uid(uid)
    assert deterministic_uid(["a", "b"]) != deterministic_uid(["ab"])


def test_a_plugin_attribute_may_not_shadow_a_core_key() -> None:
    display_set = DisplaySet(
        plugin="pdf",
        display_set_instance_uid="2.25.1",
        study_instance_uid="1.2",
        series_instance_uid="1.2.3",
        sop_instance_uids=("1.2.3.4",),
        sop_class_uid="1.2.840.10008.5.1.4.1.1.104.1",
        sop_class_name="Encapsulated PDF",
        sop_class_handler_id="x",
        attributes={"Modality": "PDF"},
    )
    with pytest.raises(ValueError, match="'Modality' collides with a core record key"):
        display_set.to_json()


def test_references_round_trip_with_their_resolution() -> None:
    reference = Reference(ReferenceKind.SERIES, "1.2.3", purpose="source images")
    data = reference.to_json()
    assert data == {
        "kind": "SeriesInstanceUID",
        "uid": "1.2.3",
        "purpose": "source images",
        "status": "pending",
        "displaySetInstanceUIDs": [],
    }
    assert Reference.from_json(data) == reference


def test_a_record_of_another_schema_version_is_refused() -> None:
    with pytest.raises(ValueError, match="schemaVersion 99"):
        DisplaySet.from_json({"schemaVersion": 99})

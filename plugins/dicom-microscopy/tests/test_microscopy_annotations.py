"""Bulk simple annotation display sets: linked to their slide, decoded on demand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from displaysets import ReferenceKind, ReferenceStatus
from displaysets.testing import require_corpus
from displaysets_dicom_microscopy.annotations import AnnotationSet

ANNOTATED_SOP_INSTANCE = (
    "1.2.826.0.1.3680043.9.7433.3.12857516184849951143044513877282227"
)


def _annotation_set(service: Any, microscopy: Any) -> Any:
    [annotations] = [
        d
        for d in service.display_sets
        if d.sop_class_handler_id == microscopy.annotation_handler
    ]
    return annotations


def test_annotations_reference_the_slide_display_sets(microscopy: Any) -> None:
    folder = require_corpus("sm")
    service = microscopy.scan(
        [
            folder / "highdicom_sm_annotations.dcm",
            folder / "highdicom_sm_image.dcm",
            folder / "highdicom_sm_image_jpegls.dcm",
        ]
    )
    annotations = _annotation_set(service, microscopy)
    [slide] = [
        d
        for d in microscopy.slides(service)
        if ANNOTATED_SOP_INSTANCE in d.sop_instance_uids
    ]
    assert annotations.plugin == "microscopy"
    assert annotations.is_overlay and annotations.is_derived
    kinds = [(r.kind, r.uid) for r in annotations.references]
    assert kinds == [
        (ReferenceKind.SOP_INSTANCE, ANNOTATED_SOP_INSTANCE),
        (ReferenceKind.SERIES, slide.series_instance_uid),
    ]
    for reference in annotations.references:
        assert reference.status is ReferenceStatus.RESOLVED
        assert reference.display_set_instance_uids == (slide.display_set_instance_uid,)
    [group] = annotations.attributes["annotationGroups"]
    assert group["label"] == "nuclei"
    assert group["graphicType"] == "POINT"
    assert group["numberOfAnnotations"] == 2
    assert group["propertyType"]["meaning"] == "Nucleus"
    assert [m["meaning"] for m in group["measurements"]] == ["Area"]
    assert annotations.attributes["annotationCoordinateType"] == "2D"


def test_annotations_without_their_slide_say_so(microscopy: Any) -> None:
    path = require_corpus("sm", "highdicom_sm_annotations.dcm")
    annotations = _annotation_set(microscopy.scan([path]), microscopy)
    assert all(r.status is ReferenceStatus.UNRESOLVED for r in annotations.references)
    assert "REFERENCES_UNRESOLVED" in {m.code for m in annotations.messages}


def test_decoded_annotations_equal_highdicoms(microscopy: Any) -> None:
    hd = pytest.importorskip("highdicom")
    import pydicom

    path = require_corpus("sm", "highdicom_sm_annotations.dcm")
    service = microscopy.scan([path])
    content = service.load(_annotation_set(service, microscopy))
    assert isinstance(content, AnnotationSet)

    reference = hd.ann.MicroscopyBulkSimpleAnnotations.from_dataset(
        pydicom.dcmread(path)
    )
    [theirs] = reference.get_annotation_groups()
    [ours] = content.groups
    coordinates = theirs.get_graphic_data(coordinate_type="2D")
    assert len(ours.shapes) == len(coordinates)
    for shape, points in zip(ours.shapes, coordinates, strict=True):
        assert np.array_equal(
            shape, np.asarray(points, dtype=np.float64).reshape(-1, 2)
        )
    names, values, _ = theirs.get_measurements()
    assert [n.meaning for n in names] == list(ours.measurements)
    assert np.array_equal(
        ours.measurements["Area"], values[:, 0].astype(np.float64), equal_nan=True
    )


def test_annotations_export_as_json(microscopy: Any, tmp_path: Path) -> None:
    path = require_corpus("sm", "highdicom_sm_annotations.dcm")
    service = microscopy.scan([path])
    annotations = _annotation_set(service, microscopy)
    [written] = service.export(annotations, tmp_path)
    data = json.loads(written.read_text())
    assert written.name == f"{annotations.sop_instance_uid}.annotations.json"
    [group] = data["groups"]
    content = service.load(annotations)
    assert group["shapes"] == [s.tolist() for s in content.groups[0].shapes]
    assert group["graphicType"] == "POINT"

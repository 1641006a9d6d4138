"""Microscopy Bulk Simple Annotations: display sets linked to their slide, and content.

Each annotation instance is one display set (an overlay on its slide) that describes
its annotation groups from metadata and points at the annotated images through core
:class:`~displaysets.Reference` objects, which the core resolves to the slide's display
set. Coordinates and measurement values are bulk data: they are decoded only when the
content is loaded.
"""

from __future__ import annotations

import itertools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from displaysets import (
    Claim,
    ContentError,
    DisplaySet,
    Offer,
    Reference,
    ReferenceKind,
    Severity,
)

from displaysets_dicom_microscopy import attributes as attr

if TYPE_CHECKING:
    import numpy as np
    from pydicom.dataset import Dataset

from displaysets.errors import DestinationExists
from displaysets.exporting import replacing
from displaysets.uids import safe_file_stem

logger = logging.getLogger(__name__)

GRAPHIC_TYPES: Final = ("POINT", "POLYLINE", "POLYGON", "ELLIPSE", "RECTANGLE")
_POINTS_PER_SHAPE: Final = {"POINT": 1, "ELLIPSE": 4, "RECTANGLE": 4}
"""Graphic types whose primitives have a fixed number of points (no index list)."""


def _group_record(item: Dataset, number: int) -> dict[str, Any]:
    count = attr.integer(item, "NumberOfAnnotations")
    return {
        "number": attr.integer(item, "AnnotationGroupNumber") or number,
        "uid": attr.text(item, "AnnotationGroupUID") or "",
        "label": attr.text(item, "AnnotationGroupLabel") or "",
        "description": attr.text(item, "AnnotationGroupDescription") or "",
        "generationType": attr.text(item, "AnnotationGroupGenerationType") or "",
        "graphicType": (attr.text(item, "GraphicType") or "").upper(),
        "numberOfAnnotations": count,
        "propertyCategory": attr.code(
            attr.first_item(item, "AnnotationPropertyCategoryCodeSequence")
        ),
        "propertyType": attr.code(
            attr.first_item(item, "AnnotationPropertyTypeCodeSequence")
        ),
        "measurements": [
            attr.code(attr.first_item(m, "ConceptNameCodeSequence"))
            for m in attr.items(item, "MeasurementsSequence")
        ],
        "appliesToAllOpticalPaths": attr.text(
            item, "AnnotationAppliesToAllOpticalPaths"
        )
        == "YES",
        "appliesToAllZPlanes": attr.text(item, "AnnotationAppliesToAllZPlanes")
        == "YES",
    }


def _references(dataset: Dataset) -> list[Reference]:
    """The annotated images and their series, each UID once."""
    references: list[Reference] = []
    seen: set[tuple[ReferenceKind, str]] = set()

    def add(kind: ReferenceKind, uid: str | None, purpose: str) -> None:
        if uid and (kind, uid) not in seen:
            seen.add((kind, uid))
            references.append(Reference(kind=kind, uid=uid, purpose=purpose))

    for series in attr.items(dataset, "ReferencedSeriesSequence"):
        for item in attr.items(series, "ReferencedInstanceSequence"):
            add(
                ReferenceKind.SOP_INSTANCE,
                attr.text(item, "ReferencedSOPInstanceUID"),
                "annotated image",
            )
    for item in attr.items(dataset, "ReferencedImageSequence"):
        add(
            ReferenceKind.SOP_INSTANCE,
            attr.text(item, "ReferencedSOPInstanceUID"),
            "annotated image",
        )
    for series in attr.items(dataset, "ReferencedSeriesSequence"):
        add(
            ReferenceKind.SERIES,
            attr.text(series, "SeriesInstanceUID"),
            "annotated series",
        )
    return references


def make_annotation_display_sets(offer: Offer) -> Claim:
    """One overlay display set per annotation instance, referencing its slide."""
    claim = Claim()
    for instance in offer.instances:
        dataset = instance.dataset
        groups = [
            _group_record(item, number)
            for number, item in enumerate(
                attr.items(dataset, "AnnotationGroupSequence"), 1
            )
        ]
        references = _references(dataset)
        coordinate_type = attr.text(dataset, "AnnotationCoordinateType")
        frame_of_reference = attr.text(dataset, "FrameOfReferenceUID")
        attributes: dict[str, Any] = {
            "annotationCoordinateType": coordinate_type,
            "pixelOriginInterpretation": attr.text(
                dataset, "PixelOriginInterpretation"
            ),
            "contentLabel": attr.text(dataset, "ContentLabel"),
            "contentDescription": attr.text(dataset, "ContentDescription"),
            "containerIdentifier": attr.text(dataset, "ContainerIdentifier"),
            "frameOfReferenceUID": frame_of_reference,
            "annotationGroups": groups,
            "numberOfAnnotations": sum(g["numberOfAnnotations"] or 0 for g in groups),
        }
        display_set = offer.display_set(
            [instance],
            attributes=attributes,
            references=references,
            is_derived=True,
            is_overlay=True,
            num_frames=0,
        )
        where = instance.location
        if not groups:
            display_set.add_message(
                "ANNOTATION_GROUPS_MISSING",
                Severity.WARNING,
                f"{where}: no AnnotationGroupSequence; the annotation set is empty",
            )
        if coordinate_type not in ("2D", "3D"):
            display_set.add_message(
                "ANNOTATION_COORDINATE_TYPE_MISSING",
                Severity.WARNING,
                f"{where}: AnnotationCoordinateType is "
                f"{coordinate_type!r}, not 2D or 3D; coordinates are read as 2D",
            )
        if not references and coordinate_type != "3D":
            display_set.add_message(
                "ANNOTATED_IMAGE_MISSING",
                Severity.WARNING,
                f"{where}: 2D annotations reference no image "
                "(ReferencedSeriesSequence / ReferencedImageSequence)",
            )
        if coordinate_type == "3D" and frame_of_reference:
            display_set.references.append(
                Reference(
                    kind=ReferenceKind.FRAME_OF_REFERENCE,
                    uid=frame_of_reference,
                    purpose="slide coordinate system",
                )
            )
        for group in groups:
            if group["graphicType"] not in GRAPHIC_TYPES:
                display_set.add_message(
                    "GRAPHIC_TYPE_UNKNOWN",
                    Severity.WARNING,
                    f"{where}: annotation group {group['number']} has graphic type "
                    f"{group['graphicType']!r}; its coordinates cannot be split into "
                    "shapes",
                )
        claim.display_sets.append(display_set)
    return claim


@dataclass
class AnnotationGroup:
    """One annotation group with its decoded shapes and measurement values."""

    number: int
    label: str
    graphic_type: str
    shapes: list[np.ndarray]
    """One (points, 2 or 3) array per annotation, in the image or slide coordinates."""
    measurements: dict[str, np.ndarray] = field(default_factory=dict)
    """Measurement concept meaning -> one value per annotation (NaN where absent)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "label": self.label,
            "graphicType": self.graphic_type,
            "shapes": [shape.tolist() for shape in self.shapes],
            "measurements": {
                name: [None if v != v else float(v) for v in values.tolist()]
                for name, values in self.measurements.items()
            },
        }


@dataclass
class AnnotationSet:
    """The content of an annotation display set: its groups, decoded."""

    display_set: DisplaySet
    coordinate_type: str
    groups: list[AnnotationGroup]

    def to_json(self) -> dict[str, Any]:
        return {
            "displaySetInstanceUID": self.display_set.display_set_instance_uid,
            "SOPInstanceUID": self.display_set.sop_instance_uid,
            "annotationCoordinateType": self.coordinate_type,
            "groups": [g.to_json() for g in self.groups],
        }


def _coordinates(item: Dataset, dimensions: int, where: str) -> np.ndarray:
    import numpy as np

    for keyword, dtype in (
        ("DoublePointCoordinatesData", "<f8"),
        ("PointCoordinatesData", "<f4"),
    ):
        value = item.get(keyword)
        if value is not None:
            data = np.frombuffer(bytes(value), dtype=dtype).astype(np.float64)
            if data.size % dimensions:
                raise ContentError(
                    f"{where}: {keyword} holds {data.size} values, not a multiple of "
                    f"{dimensions}"
                )
            return data.reshape(-1, dimensions)
    raise ContentError(
        f"{where}: no PointCoordinatesData or DoublePointCoordinatesData"
    )


def _split_shapes(
    item: Dataset, graphic_type: str, points: np.ndarray, count: int | None, where: str
) -> list[np.ndarray]:
    import numpy as np

    per_shape = _POINTS_PER_SHAPE.get(graphic_type)
    if per_shape is not None:
        if len(points) % per_shape:
            raise ContentError(
                f"{where}: {len(points)} points do not make {graphic_type} shapes of "
                f"{per_shape} point(s)"
            )
        return [points[i : i + per_shape] for i in range(0, len(points), per_shape)]
    index_value = item.get("LongPrimitivePointIndexList")
    if index_value is None:
        if count == 1:
            return [points]
        raise ContentError(
            f"{where}: {graphic_type} without LongPrimitivePointIndexList"
        )
    # 1-based indices of each primitive's first coordinate value in the flat array.
    starts = np.frombuffer(bytes(index_value), dtype="<u4").astype(np.int64) - 1
    dimensions = points.shape[1]
    flat = points.reshape(-1)
    bounds = [*starts.tolist(), flat.size]
    shapes = []
    for begin, end in itertools.pairwise(bounds):
        if begin < 0 or end > flat.size or begin >= end or begin % dimensions:
            raise ContentError(f"{where}: LongPrimitivePointIndexList is inconsistent")
        shapes.append(flat[begin:end].reshape(-1, dimensions))
    return shapes


def load_annotations(display_set: DisplaySet) -> AnnotationSet:
    """Decode the annotation groups of an annotation display set."""
    import numpy as np

    instance = display_set.instances[0]
    try:
        dataset = instance.open_dataset()
    except ContentError:
        raise
    except Exception as error:
        raise ContentError(f"{instance.location}: cannot read: {error}") from error
    coordinate_type = attr.text(dataset, "AnnotationCoordinateType") or "2D"
    dimensions = 3 if coordinate_type == "3D" else 2
    groups = []
    for number, item in enumerate(attr.items(dataset, "AnnotationGroupSequence"), 1):
        where = f"{instance.location}: annotation group {number}"
        graphic_type = (attr.text(item, "GraphicType") or "").upper()
        count = attr.integer(item, "NumberOfAnnotations")
        points = _coordinates(item, dimensions, where)
        shapes = _split_shapes(item, graphic_type, points, count, where)
        if count is not None and count != len(shapes):
            raise ContentError(
                f"{where}: NumberOfAnnotations is {count} but the coordinates hold "
                f"{len(shapes)} shape(s)"
            )
        measurements: dict[str, np.ndarray] = {}
        for measurement in attr.items(item, "MeasurementsSequence"):
            name = attr.code(attr.first_item(measurement, "ConceptNameCodeSequence"))
            values_item = attr.first_item(measurement, "MeasurementValuesSequence")
            raw = values_item.get("FloatingPointValues") if values_item else None
            if name is None or raw is None:
                continue
            values = np.frombuffer(bytes(raw), dtype="<f4").astype(np.float64)
            index = values_item.get("AnnotationIndexList") if values_item else None
            if index is not None:
                full = np.full(len(shapes), np.nan)
                positions = np.frombuffer(bytes(index), dtype="<u4").astype(np.int64)
                full[positions - 1] = values[: len(positions)]
                values = full
            measurements[name["meaning"] or name["value"]] = values
        groups.append(
            AnnotationGroup(
                number=attr.integer(item, "AnnotationGroupNumber") or number,
                label=attr.text(item, "AnnotationGroupLabel") or "",
                graphic_type=graphic_type,
                shapes=shapes,
                measurements=measurements,
            )
        )
    return AnnotationSet(display_set, coordinate_type, groups)


def export_annotations(
    display_set: DisplaySet, destination: Path, overwrite: bool
) -> list[Path]:
    """Write the decoded annotation groups as JSON (a folder gets ``<UID>.json``)."""
    if destination.is_dir() or not destination.suffix:
        destination.mkdir(parents=True, exist_ok=True)
        stem = safe_file_stem(display_set.sop_instance_uid, "annotations")
        target = destination / f"{stem}.annotations.json"
    else:
        target = destination
    if target.exists() and not overwrite:
        raise DestinationExists(target)
    content = load_annotations(display_set)
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as temporary:
        temporary.write_text(json.dumps(content.to_json(), indent=1), encoding="utf-8")
    return [target]

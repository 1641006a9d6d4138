"""TID 1500 measurement reports as data: measurement groups and their measurements.

Every Measurement Group container (TID 1410, 1411, 1501) is extracted with its tracking
identifier and UID, finding, finding sites, the image regions or segments it refers to,
its qualitative evaluations and each NUM measurement with value, unit, derivation and
the regions that measurement was inferred from. Values missing from a malformed report
are left empty rather than guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

from displaysets_dicom_html.content import Code, ContentItem

logger = logging.getLogger(__name__)

MEASUREMENT_GROUP: Final = ("125007", "DCM")
TRACKING_IDENTIFIER: Final = ("112039", "DCM")
TRACKING_UNIQUE_IDENTIFIER: Final = ("112040", "DCM")
FINDING: Final = ("121071", "DCM")
FINDING_SITE: Final = frozenset({("363698007", "SCT"), ("G-C0E3", "SRT")})
DERIVATION: Final = ("121401", "DCM")
METHOD: Final = frozenset({("370129005", "SCT"), ("G-C036", "SRT")})
_REGION_TYPES: Final = frozenset({"SCOORD", "SCOORD3D", "IMAGE", "COMPOSITE", "UIDREF"})


def _key(code: Code | None) -> tuple[str, str]:
    return (code.value, code.scheme) if code else ("", "")


@dataclass
class Region:
    """An image region, a segment or a referenced object a measurement relies on."""

    path: str
    concept: Code | None
    value_type: str
    graphic_type: str = ""
    graphic_data: tuple[float, ...] = ()
    frame_of_reference_uid: str = ""
    referenced_sop_instance_uids: tuple[str, ...] = ()
    referenced_frame_numbers: tuple[int, ...] = ()
    referenced_segment_numbers: tuple[int, ...] = ()
    uid: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "concept": self.concept.to_json() if self.concept else None,
            "valueType": self.value_type,
        }
        if self.graphic_type:
            data["graphicType"] = self.graphic_type
            data["graphicData"] = list(self.graphic_data)
        if self.frame_of_reference_uid:
            data["frameOfReferenceUID"] = self.frame_of_reference_uid
        if self.referenced_sop_instance_uids:
            data["referencedSOPInstanceUIDs"] = list(self.referenced_sop_instance_uids)
        if self.referenced_frame_numbers:
            data["referencedFrameNumbers"] = list(self.referenced_frame_numbers)
        if self.referenced_segment_numbers:
            data["referencedSegmentNumbers"] = list(self.referenced_segment_numbers)
        if self.uid:
            data["UID"] = self.uid
        return data


@dataclass
class MeasurementValue:
    """One NUM measurement of a group."""

    path: str
    name: Code | None
    value: float | None
    numeric_value: str
    unit: Code | None
    derivation: Code | None = None
    method: Code | None = None
    finding_sites: list[Code] = field(default_factory=list)
    qualifier: Code | None = None
    regions: list[Region] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name.to_json() if self.name else None,
            "value": self.value,
            "numericValue": self.numeric_value,
            "unit": self.unit.to_json() if self.unit else None,
            "derivation": self.derivation.to_json() if self.derivation else None,
            "method": self.method.to_json() if self.method else None,
            "findingSites": [c.to_json() for c in self.finding_sites],
            "qualifier": self.qualifier.to_json() if self.qualifier else None,
            "regions": [r.to_json() for r in self.regions],
        }


@dataclass
class MeasurementGroup:
    """One Measurement Group container of a TID 1500 report."""

    path: str
    template: str = ""
    tracking_identifier: str = ""
    tracking_uid: str = ""
    finding: Code | None = None
    finding_sites: list[Code] = field(default_factory=list)
    measurements: list[MeasurementValue] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    qualitative_evaluations: list[tuple[Code | None, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "template": self.template,
            "trackingIdentifier": self.tracking_identifier,
            "trackingUID": self.tracking_uid,
            "finding": self.finding.to_json() if self.finding else None,
            "findingSites": [c.to_json() for c in self.finding_sites],
            "measurements": [m.to_json() for m in self.measurements],
            "regions": [r.to_json() for r in self.regions],
            "qualitativeEvaluations": [
                {"concept": c.to_json() if c else None, "value": v}
                for c, v in self.qualitative_evaluations
            ],
        }


def _region(item: ContentItem) -> Region:
    region = Region(item.path, item.concept, item.value_type, uid=item.text)
    coordinates = item.coordinates
    references = list(item.references)
    if coordinates is not None:
        region.graphic_type = coordinates.graphic_type
        region.graphic_data = coordinates.graphic_data
        region.frame_of_reference_uid = coordinates.frame_of_reference_uid
        for child in item.children:  # SCOORD is SELECTED FROM an IMAGE
            references.extend(child.references)
    region.referenced_sop_instance_uids = tuple(r.sop_instance_uid for r in references)
    region.referenced_frame_numbers = tuple(
        n for r in references for n in r.frame_numbers
    )
    region.referenced_segment_numbers = tuple(
        n for r in references for n in r.segment_numbers
    )
    return region


def _measurement(item: ContentItem) -> MeasurementValue:
    value = item.measurement
    result = MeasurementValue(
        item.path,
        item.concept,
        value.value if value else None,
        value.numeric_value if value else "",
        value.unit if value else None,
        qualifier=value.qualifier if value else None,
    )
    for child in item.children:
        key = _key(child.concept)
        if key == DERIVATION and child.code:
            result.derivation = child.code
        elif key in METHOD and child.code:
            result.method = child.code
        elif key in FINDING_SITE and child.code:
            result.finding_sites.append(child.code)
        elif child.value_type in ("SCOORD", "SCOORD3D", "IMAGE"):
            result.regions.append(_region(child))
    return result


def _group(item: ContentItem) -> MeasurementGroup:
    group = MeasurementGroup(item.path, item.template)
    for child in item.children:
        key = _key(child.concept)
        if key == TRACKING_IDENTIFIER:
            group.tracking_identifier = child.text
        elif key == TRACKING_UNIQUE_IDENTIFIER:
            group.tracking_uid = child.text
        elif key == FINDING and child.code:
            group.finding = child.code
        elif key in FINDING_SITE and child.code:
            group.finding_sites.append(child.code)
        elif child.value_type == "NUM":
            group.measurements.append(_measurement(child))
        elif child.value_type in _REGION_TYPES and child.relationship == "CONTAINS":
            group.regions.append(_region(child))
        elif child.value_type in ("CODE", "TEXT") and child.relationship == "CONTAINS":
            shown = str(child.code) if child.code else child.text
            group.qualitative_evaluations.append((child.concept, shown))
    return group


def measurement_groups(root: ContentItem) -> list[MeasurementGroup]:
    """Every Measurement Group in the tree, in document order."""
    return [
        _group(item)
        for item in root.walk()
        if item.value_type == "CONTAINER" and _key(item.concept) == MEASUREMENT_GROUP
    ]

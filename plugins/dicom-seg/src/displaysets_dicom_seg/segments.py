"""The Segmentation Image module read from metadata: segmentation type and segments.

Everything here works on the metadata dataset alone (no pixel data) and reports what is
wrong with it as :class:`Finding` objects instead of raising, so a malformed
segmentation still becomes a display set that says what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from displaysets import Severity
from displaysets.model import text_of, value_of
from pydicom.dataset import Dataset

from displaysets_dicom_seg.colors import dicom_lab_to_srgb

logger = logging.getLogger(__name__)

SEGMENTATION_TYPES: Final = ("BINARY", "FRACTIONAL", "LABELMAP")
FRACTIONAL_TYPES: Final = ("PROBABILITY", "OCCUPANCY")


@dataclass(frozen=True)
class Finding:
    """Something wrong or notable in a segmentation, to become a display set message."""

    code: str
    severity: Severity
    text: str


@dataclass(frozen=True)
class Code:
    """A coded concept (Code Value, Coding Scheme Designator, Code Meaning)."""

    value: str
    scheme: str
    meaning: str

    def to_json(self) -> dict[str, str]:
        return {
            "CodeValue": self.value,
            "CodingSchemeDesignator": self.scheme,
            "CodeMeaning": self.meaning,
        }


@dataclass(frozen=True)
class Segment:
    """One item of the Segment Sequence."""

    number: int
    label: str = ""
    description: str = ""
    algorithm_type: str = ""
    algorithm_name: str = ""
    category: Code | None = None
    type: Code | None = None
    type_modifiers: tuple[Code, ...] = ()
    anatomic_regions: tuple[Code, ...] = ()
    cielab: tuple[int, int, int] | None = None
    tracking_id: str = ""
    tracking_uid: str = ""

    @property
    def rgb(self) -> tuple[int, int, int] | None:
        """The recommended display colour as 8-bit sRGB, when the file gives one."""
        return dicom_lab_to_srgb(self.cielab) if self.cielab is not None else None

    def to_json(self) -> dict[str, Any]:
        def code(value: Code | None) -> dict[str, str] | None:
            return value.to_json() if value is not None else None

        rgb = self.rgb
        return {
            "SegmentNumber": self.number,
            "SegmentLabel": self.label,
            "SegmentDescription": self.description,
            "SegmentAlgorithmType": self.algorithm_type,
            "SegmentAlgorithmName": self.algorithm_name,
            "SegmentedPropertyCategory": code(self.category),
            "SegmentedPropertyType": code(self.type),
            "SegmentedPropertyTypeModifiers": [
                c.to_json() for c in self.type_modifiers
            ],
            "AnatomicRegions": [c.to_json() for c in self.anatomic_regions],
            "RecommendedDisplayCIELabValue": list(self.cielab) if self.cielab else None,
            "recommendedDisplayRGBValue": list(rgb) if rgb is not None else None,
            "TrackingID": self.tracking_id,
            "TrackingUID": self.tracking_uid,
        }


@dataclass
class SegmentationDescription:
    """Segmentation type, fractional details and segments of one instance."""

    segmentation_type: str
    fractional_type: str | None
    maximum_fractional_value: int | None
    segments: list[Segment]
    findings: list[Finding] = field(default_factory=list)

    @property
    def segment_numbers(self) -> list[int]:
        return [s.number for s in self.segments]

    def segment(self, number: int) -> Segment | None:
        for segment in self.segments:
            if segment.number == number:
                return segment
        return None


text = text_of
"""An attribute as stripped text, ``""`` when absent or empty (the core's reader)."""


def integer(item: Dataset, keyword: str) -> int | None:
    """An attribute as an int, ``None`` when absent or not a number."""
    try:
        value = value_of(item, keyword)
        if value is None or value == "":
            return None
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            value = value[0]
        return int(value)
    except (TypeError, ValueError, IndexError):
        return None


def sequence(item: Dataset | None, keyword: str) -> list[Dataset]:
    """The items of a sequence, an empty list when absent or not a sequence."""
    if item is None:
        return []
    try:
        value = value_of(item, keyword)
    except Exception:  # a malformed element pydicom cannot convert
        return []
    if value is None:
        return []
    try:
        return [i for i in value if isinstance(i, Dataset)]
    except TypeError:
        return []


def _code(item: Dataset | None) -> Code | None:
    if item is None:
        return None
    value = (
        text(item, "CodeValue")
        or text(item, "LongCodeValue")
        or text(item, "URNCodeValue")
    )
    if not value and not text(item, "CodeMeaning"):
        return None
    return Code(value, text(item, "CodingSchemeDesignator"), text(item, "CodeMeaning"))


def _codes(items: Iterable[Dataset]) -> tuple[Code, ...]:
    return tuple(c for c in (_code(i) for i in items) if c is not None)


def _first_code(item: Dataset, keyword: str) -> Code | None:
    items = sequence(item, keyword)
    return _code(items[0]) if items else None


def _cielab(item: Dataset) -> tuple[int, int, int] | None:
    value = value_of(item, "RecommendedDisplayCIELabValue")
    if value is None:
        return None
    try:
        numbers = [int(v) for v in value]
    except (TypeError, ValueError):
        return None
    if len(numbers) != 3 or not all(0 <= n <= 0xFFFF for n in numbers):
        return None
    return numbers[0], numbers[1], numbers[2]


def _segment(item: Dataset, number: int) -> Segment:
    type_items = sequence(item, "SegmentedPropertyTypeCodeSequence")
    modifiers = (
        sequence(type_items[0], "SegmentedPropertyTypeModifierCodeSequence")
        if type_items
        else []
    )
    modifiers = modifiers or sequence(item, "SegmentedPropertyTypeModifierCodeSequence")
    return Segment(
        number=number,
        label=text(item, "SegmentLabel"),
        description=text(item, "SegmentDescription"),
        algorithm_type=text(item, "SegmentAlgorithmType"),
        algorithm_name=text(item, "SegmentAlgorithmName"),
        category=_first_code(item, "SegmentedPropertyCategoryCodeSequence"),
        type=_code(type_items[0]) if type_items else None,
        type_modifiers=_codes(modifiers),
        anatomic_regions=_codes(sequence(item, "AnatomicRegionSequence")),
        cielab=_cielab(item),
        tracking_id=text(item, "TrackingID"),
        tracking_uid=text(item, "TrackingUID"),
    )


def describe_segmentation(dataset: Dataset, location: str) -> SegmentationDescription:
    """Read segmentation type and segments; note every inconsistency as a finding.

    Parameters
    ----------
    dataset
        The segmentation's metadata.
    location
        The file or URL, named in findings.
    """
    findings: list[Finding] = []

    def note(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code, severity, f"{location}: {message}"))

    segmentation_type = text(dataset, "SegmentationType").upper()
    if not segmentation_type:
        segmentation_type = "BINARY"
        note(
            "SEGMENTATION_TYPE_MISSING",
            Severity.WARNING,
            "no Segmentation Type; the segmentation is read as BINARY",
        )
    elif segmentation_type not in SEGMENTATION_TYPES:
        note(
            "SEGMENTATION_TYPE_UNKNOWN",
            Severity.ERROR,
            f"Segmentation Type {segmentation_type!r} is none of "
            f"{', '.join(SEGMENTATION_TYPES)}",
        )

    fractional_type = None
    maximum = None
    if segmentation_type == "FRACTIONAL":
        fractional_type = text(dataset, "SegmentationFractionalType").upper() or None
        if fractional_type is None:
            note(
                "FRACTIONAL_TYPE_MISSING",
                Severity.WARNING,
                "a FRACTIONAL segmentation without Segmentation Fractional Type",
            )
        elif fractional_type not in FRACTIONAL_TYPES:
            note(
                "FRACTIONAL_TYPE_UNKNOWN",
                Severity.WARNING,
                f"Segmentation Fractional Type {fractional_type!r} is neither "
                "PROBABILITY nor OCCUPANCY",
            )
        maximum = integer(dataset, "MaximumFractionalValue")
        if maximum is None or maximum <= 0:
            note(
                "MAXIMUM_FRACTIONAL_VALUE_MISSING",
                Severity.ERROR,
                "a FRACTIONAL segmentation without a positive Maximum Fractional "
                "Value; fractional masks cannot be scaled",
            )
            maximum = None

    segments: list[Segment] = []
    items = sequence(dataset, "SegmentSequence")
    if not items:
        note("NO_SEGMENTS", Severity.ERROR, "the Segment Sequence is missing or empty")
    seen: set[int] = set()
    for position, item in enumerate(items, 1):
        number = integer(item, "SegmentNumber")
        if number is None:
            note(
                "SEGMENT_NUMBER_MISSING",
                Severity.ERROR,
                f"item {position} of the Segment Sequence has no Segment Number; "
                "it is left out",
            )
            continue
        if number in seen:
            note(
                "SEGMENT_NUMBER_DUPLICATED",
                Severity.ERROR,
                f"Segment Number {number} is declared more than once; only its "
                "first item is used",
            )
            continue
        seen.add(number)
        segments.append(_segment(item, number))

    numbers = sorted(seen)
    if numbers:
        # Label maps may declare 0 for the background; other types start at 1.
        first = 0 if segmentation_type == "LABELMAP" and numbers[0] == 0 else 1
        expected = list(range(first, first + len(numbers)))
        if numbers != expected:
            missing = sorted(set(range(first, numbers[-1] + 1)) - seen)
            shown = ", ".join(str(n) for n in missing[:10])
            note(
                "SEGMENT_NUMBERS_NOT_CONSECUTIVE",
                Severity.WARNING,
                f"Segment Numbers are {', '.join(str(n) for n in numbers[:10])}"
                f"{' ...' if len(numbers) > 10 else ''}; they should run from "
                f"{first} without gaps" + (f" (missing: {shown})" if shown else ""),
            )
    return SegmentationDescription(
        segmentation_type, fractional_type, maximum, segments, findings
    )

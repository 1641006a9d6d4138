"""References found in any DICOM object, read from the standard's common sequences.

Handlers that know their IOD attach their own references; this module gives every
other object (presentation states, RT structure sets and plans, real world value
maps, ...) the links a viewer needs to show it beside its images, so that even an
unsupported display set points at the display sets it belongs to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from displaysets.model import value_of
from displaysets.records import Reference, ReferenceKind

logger = logging.getLogger(__name__)

_INSTANCE_ITEMS = ("ReferencedImageSequence", "ReferencedInstanceSequence")
_INSTANCE_SEQUENCES = {
    "ReferencedImageSequence": "referenced image",
    "ReferencedInstanceSequence": "referenced instance",
    "SourceImageSequence": "source image",
    "ReferencedStructureSetSequence": "referenced structure set",
    "ReferencedRTPlanSequence": "referenced RT plan",
    "ReferencedDoseSequence": "referenced RT dose",
}


def _items(dataset: Any, keyword: str) -> list[Any]:
    value = value_of(dataset, keyword)
    try:
        return [item for item in value or () if item is not None]
    except TypeError:
        return []


def _text(dataset: Any, keyword: str) -> str:
    value = value_of(dataset, keyword)
    return str(value).strip() if value else ""


def _series_references(dataset: Any) -> Iterator[Reference]:
    """ReferencedSeriesSequence: the images it lists, else the series."""
    for item in _items(dataset, "ReferencedSeriesSequence"):
        instances = [
            _text(image, "ReferencedSOPInstanceUID")
            for keyword in _INSTANCE_ITEMS
            for image in _items(item, keyword)
        ]
        instances = [uid for uid in instances if uid]
        if instances:
            for uid in instances:
                yield Reference(ReferenceKind.SOP_INSTANCE, uid, "referenced image")
            continue
        series = _text(item, "SeriesInstanceUID")
        if series:
            yield Reference(ReferenceKind.SERIES, series, "referenced series")


def _frame_of_reference_references(dataset: Any) -> Iterator[Reference]:
    """ReferencedFrameOfReferenceSequence (RT): its series, else the frame."""
    for item in _items(dataset, "ReferencedFrameOfReferenceSequence"):
        series = [
            _text(series_item, "SeriesInstanceUID")
            for study in _items(item, "RTReferencedStudySequence")
            for series_item in _items(study, "RTReferencedSeriesSequence")
        ]
        series = [uid for uid in series if uid]
        for uid in series:
            yield Reference(ReferenceKind.SERIES, uid, "referenced series")
        frame = _text(item, "FrameOfReferenceUID")
        if frame and not series:
            yield Reference(
                ReferenceKind.FRAME_OF_REFERENCE, frame, "frame of reference"
            )


def references_in(datasets: Iterable[Any]) -> list[Reference]:
    """Every reference the common sequences of ``datasets`` make, once each."""
    found: dict[tuple[ReferenceKind, str], Reference] = {}
    for dataset in datasets:
        candidates = [
            *_series_references(dataset),
            *_frame_of_reference_references(dataset),
        ]
        for keyword, purpose in _INSTANCE_SEQUENCES.items():
            for item in _items(dataset, keyword):
                uid = _text(item, "ReferencedSOPInstanceUID")
                if uid:
                    candidates.append(
                        Reference(ReferenceKind.SOP_INSTANCE, uid, purpose)
                    )
        for reference in candidates:
            found.setdefault((reference.kind, reference.uid), reference)
    return list(found.values())

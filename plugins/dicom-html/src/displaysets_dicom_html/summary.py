"""What a display set says about an SR document without rendering it.

:func:`summarize` reads the document header (title, flags, dates, observers, template)
and walks the parsed content tree once for the item count, the images and series it
references, the key images of a Key Object Selection and the problems worth a message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

from displaysets_dicom_html import tags as t
from displaysets_dicom_html.content import Code, ContentTree
from displaysets_dicom_html.views import DatasetView

logger = logging.getLogger(__name__)

KEY_OBJECT_SELECTION: Final = "1.2.840.10008.5.1.4.1.1.88.59"
MEASUREMENT_REPORT_TEMPLATE: Final = "1500"
IMAGING_MEASUREMENT_REPORT: Final = ("126000", "DCM")
PERSON_OBSERVER_NAME: Final = ("121008", "DCM")
DEVICE_OBSERVER_UID: Final = ("121012", "DCM")
DEVICE_OBSERVER_NAME: Final = ("121013", "DCM")
OBSERVER_TYPE: Final = ("121005", "DCM")


@dataclass
class ReferencedObject:
    """An instance the document points at, and where it does."""

    sop_instance_uid: str
    sop_class_uid: str = ""
    series_instance_uid: str = ""
    purpose: str = ""
    frame_numbers: tuple[int, ...] = ()
    paths: list[str] = field(default_factory=list)


@dataclass
class Summary:
    """The fields a display set carries for one SR document."""

    title: str = ""
    title_code: Code | None = None
    completion_flag: str = ""
    verification_flag: str = ""
    preliminary_flag: str = ""
    content_date: str = ""
    content_time: str = ""
    observers: list[dict[str, str]] = field(default_factory=list)
    template: str = ""
    template_mapping_resource: str = ""
    is_measurement_report: bool = False
    num_content_items: int = 0
    num_measurement_groups: int = 0
    referenced_instances: dict[str, ReferencedObject] = field(default_factory=dict)
    referenced_series: dict[str, str] = field(default_factory=dict)
    """Series Instance UID -> purpose."""
    key_images: list[ReferencedObject] = field(default_factory=list)
    item_problems: list[str] = field(default_factory=list)
    broken_references: list[str] = field(default_factory=list)


def header_view(dataset: Any) -> DatasetView:
    return DatasetView(dataset)


def _evidence(view: DatasetView, tag: int, purpose: str, summary: Summary) -> None:
    for study in view.items(tag):
        for series in study.items(t.REFERENCED_SERIES_SEQUENCE):
            series_uid = series.string(t.SERIES_INSTANCE_UID)
            if series_uid:
                summary.referenced_series.setdefault(series_uid, purpose)
            for sop in series.items(t.REFERENCED_SOP_SEQUENCE):
                uid = sop.string(t.REFERENCED_SOP_INSTANCE_UID)
                if not uid:
                    continue
                known = summary.referenced_instances.get(uid)
                if known is None:
                    summary.referenced_instances[uid] = ReferencedObject(
                        uid, sop.string(t.REFERENCED_SOP_CLASS_UID), series_uid, purpose
                    )
                elif not known.series_instance_uid:
                    known.series_instance_uid = series_uid


def _observers(view: DatasetView, tree: ContentTree) -> list[dict[str, str]]:
    observers = []
    for verifier in view.items(t.VERIFYING_OBSERVER_SEQUENCE):
        observers.append(
            {
                "role": "verifying",
                "name": verifier.string(t.VERIFYING_OBSERVER_NAME),
                "organization": verifier.string(t.VERIFYING_ORGANIZATION),
                "dateTime": verifier.string(t.VERIFICATION_DATE_TIME),
            }
        )
    for author in view.items(t.AUTHOR_OBSERVER_SEQUENCE):
        observers.append(
            {
                "role": "author",
                "type": author.string(t.OBSERVER_TYPE),
                "name": author.string(t.PERSON_NAME),
            }
        )
    # observation context (TID 1002) of the root: person and device observers
    for item in tree.root.children:
        if item.relationship != "HAS OBS CONTEXT" or item.concept is None:
            continue
        key = (item.concept.value, item.concept.scheme)
        if key == PERSON_OBSERVER_NAME:
            observers.append({"role": "observer", "type": "PSN", "name": item.text})
        elif key == DEVICE_OBSERVER_UID:
            observers.append({"role": "observer", "type": "DEV", "uid": item.text})
        elif key == DEVICE_OBSERVER_NAME:
            for observer in reversed(observers):
                if observer.get("type") == "DEV" and "name" not in observer:
                    observer["name"] = item.text
                    break
            else:
                observers.append({"role": "observer", "type": "DEV", "name": item.text})
    return observers


def summarize(dataset: Any, tree: ContentTree) -> Summary:
    """The display set fields of one document; never raises for bad content."""
    view = header_view(dataset)
    summary = Summary()
    root = tree.root
    summary.title_code = root.concept
    summary.title = root.concept_meaning
    summary.completion_flag = view.string(t.COMPLETION_FLAG)
    summary.verification_flag = view.string(t.VERIFICATION_FLAG)
    summary.preliminary_flag = view.string(t.PRELIMINARY_FLAG)
    summary.content_date = view.string(t.CONTENT_DATE)
    summary.content_time = view.string(t.CONTENT_TIME)
    templates = view.items(t.CONTENT_TEMPLATE_SEQUENCE)
    if templates:
        summary.template = templates[0].string(t.TEMPLATE_IDENTIFIER)
        summary.template_mapping_resource = templates[0].string(t.MAPPING_RESOURCE)
    summary.observers = _observers(view, tree)
    summary.is_measurement_report = summary.template == MEASUREMENT_REPORT_TEMPLATE or (
        root.concept is not None and root.concept.is_(*IMAGING_MEASUREMENT_REPORT)
    )

    is_key_object_selection = view.string(t.SOP_CLASS_UID) == KEY_OBJECT_SELECTION
    summary.num_content_items = len(tree)
    for item in tree.items():
        if item.problems:
            summary.item_problems.append(f"{item.path}: {'; '.join(item.problems)}")
        if item.by_reference:
            _, broken = tree.resolve(item)
            if broken:
                summary.broken_references.append(
                    f"{item.path} -> {item.by_reference} ({broken})"
                )
            continue
        if item.concept is not None and item.concept.is_("125007", "DCM"):
            summary.num_measurement_groups += 1
        for reference in item.references:
            uid = reference.sop_instance_uid
            if not uid:
                continue
            purpose = (
                "key image"
                if is_key_object_selection
                else (f"{item.value_type} content item")
            )
            known = summary.referenced_instances.get(uid)
            if known is None:
                known = ReferencedObject(uid, reference.sop_class_uid, purpose=purpose)
                summary.referenced_instances[uid] = known
            elif purpose == "key image":
                known.purpose = purpose
            known.paths.append(item.path)
            if is_key_object_selection and item.value_type in (
                "IMAGE",
                "COMPOSITE",
                "WAVEFORM",
            ):
                summary.key_images.append(
                    ReferencedObject(
                        uid,
                        reference.sop_class_uid,
                        purpose="key image",
                        frame_numbers=reference.frame_numbers,
                        paths=[item.path],
                    )
                )
    _evidence(
        view, t.CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE, "evidence", summary
    )
    _evidence(view, t.PERTINENT_OTHER_EVIDENCE_SEQUENCE, "other evidence", summary)
    return summary


def document_time(dataset: Any) -> str:
    """A sortable time stamp: content date/time, else instance creation date/time."""
    view = header_view(dataset)
    date = view.string(t.CONTENT_DATE) or view.string(t.INSTANCE_CREATION_DATE)
    time = view.string(t.CONTENT_TIME) or view.string(t.INSTANCE_CREATION_TIME)
    return f"{date:8.8}{time}"

"""The plugin's hook implementations: one handler module per encapsulated document kind.

Every document instance becomes one display set, whatever its Modality. Building the
display sets reads metadata only; the document is located, checked and read when its
content is loaded or exported.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from displaysets.handlers import Claim, HandlerModule, Offer
from displaysets.hookspecs import hookimpl
from displaysets.model import Instance
from displaysets.records import DisplaySet, Reference, ReferenceKind, Severity

from displaysets_dicom_pdf.checks import judge_mime_type
from displaysets_dicom_pdf.content import load_document
from displaysets_dicom_pdf.document import check_lengths
from displaysets_dicom_pdf.export import export_document
from displaysets_dicom_pdf.kinds import KIND_BY_SOP_CLASS, KINDS, DocumentKind

logger = logging.getLogger(__name__)

DISTRIBUTION: Final = "displaysets-dicom-pdf"
REQUIRED_ATTRIBUTES: Final = ("MIMETypeOfEncapsulatedDocument",)
"""Type 1 in every encapsulated document IOD; a reduced source is asked for it."""


def _text(instance: Instance, keyword: str) -> str:
    value = instance.dataset.get(keyword)
    return "" if value is None else str(value).strip()


def _references(instance: Instance) -> list[Reference]:
    """The instances the document was made from (SourceInstanceSequence)."""
    references = []
    for item in instance.dataset.get("SourceInstanceSequence") or ():
        uid = str(item.get("ReferencedSOPInstanceUID") or "").strip()
        if uid:
            references.append(
                Reference(ReferenceKind.SOP_INSTANCE, uid, purpose="source instance")
            )
    return references


def _attributes(
    instance: Instance, kind: DocumentKind, mime_type: str
) -> dict[str, Any]:
    check = check_lengths(instance)
    attributes: dict[str, Any] = {
        "documentTitle": _text(instance, "DocumentTitle"),
        "mimeType": mime_type,
        "byteLength": check.recorded_length if check.problem is None else None,
        "fileExtension": kind.extension,
    }
    if kind.name == "PDF":
        attributes["pageCount"] = None
    elif kind.name == "CDA":
        attributes["cdaTitle"] = None
        attributes["hl7InstanceIdentifier"] = _text(instance, "HL7InstanceIdentifier")
    else:
        attributes["frameOfReferenceUID"] = _text(instance, "FrameOfReferenceUID")
    return attributes


def document_display_set(offer: Offer, instance: Instance) -> DisplaySet:
    """The display set of one document instance, from its metadata alone."""
    kind = KIND_BY_SOP_CLASS[offer.sop_class_uid]
    verdict = judge_mime_type(instance, kind)
    check = check_lengths(instance)
    messages = list(verdict.messages)
    display_set = offer.display_set(
        [instance],
        messages=messages,
        references=_references(instance),
        attributes=_attributes(instance, kind, verdict.mime_type),
        num_frames=0,
    )
    if check.problem is not None:
        display_set.add_message(check.problem.code, Severity.ERROR, check.problem.text)
    if check.warning is not None:
        display_set.add_message(
            "DOCUMENT_LENGTH_MISMATCH", Severity.WARNING, check.warning
        )
    return display_set


def get_document_display_sets(offer: Offer) -> Claim:
    """One display set per document instance of the offered group."""
    claim = Claim()
    for instance in offer.instances:
        claim.display_sets.append(document_display_set(offer, instance))
    return claim


def _handler_module(kind: DocumentKind) -> HandlerModule:
    return HandlerModule(
        id=f"{DISTRIBUTION}.{kind.name.lower()}",
        sop_class_uids=(kind.sop_class_uid,),
        get_display_sets_from_series=get_document_display_sets,
        viewport=kind.viewport,
        load=load_document,
        export=export_document,
        required_attributes=REQUIRED_ATTRIBUTES,
        description=f"Encapsulated {kind.name} documents, exact bytes",
    )


HANDLER_MODULES: Final = tuple(_handler_module(kind) for kind in KINDS)


@hookimpl
def get_sop_class_handler_module() -> list[HandlerModule]:
    return list(HANDLER_MODULES)

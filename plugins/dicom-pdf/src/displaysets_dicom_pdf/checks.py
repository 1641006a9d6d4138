"""Metadata checks of a document instance: its MIME type against its SOP class.

These run while display sets are built, so they look at metadata only; the same
verdict is taken again when content is loaded, and an error there refuses the content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from displaysets.records import Message, Severity

from displaysets_dicom_pdf.kinds import (
    DocumentKind,
    kind_of_mime_type,
    normalise_mime_type,
)

if TYPE_CHECKING:
    from displaysets.model import Instance

logger = logging.getLogger(__name__)


@dataclass
class MimeVerdict:
    """The normalised MIME type of an instance and what is wrong with it."""

    mime_type: str
    declared: str
    messages: list[Message] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return any(m.severity is Severity.ERROR for m in self.messages)


def judge_mime_type(instance: Instance, kind: DocumentKind) -> MimeVerdict:
    """Normalise MIMETypeOfEncapsulatedDocument and check it against the SOP class."""
    raw = instance.dataset.get("MIMETypeOfEncapsulatedDocument")
    declared = "" if raw is None else str(raw).replace("\x00", "").strip()
    normalised = normalise_mime_type(declared)
    where = instance.location
    if not normalised:
        verdict = MimeVerdict(kind.mime_type, declared)
        verdict.messages.append(
            Message(
                "MIME_TYPE_MISSING",
                Severity.WARNING,
                f"{where}: no MIMETypeOfEncapsulatedDocument; {kind.mime_type} is "
                f"assumed from the SOP class (Encapsulated {kind.name} Storage)",
            )
        )
        return verdict
    if kind.accepts(normalised):
        verdict = MimeVerdict(kind.mime_type, declared)
        if normalised != kind.mime_type:
            verdict.messages.append(
                Message(
                    "MIME_TYPE_ALIAS",
                    Severity.INFO,
                    f"{where}: MIME type {declared!r} read as {kind.mime_type}",
                )
            )
        return verdict
    other = kind_of_mime_type(normalised)
    names = f" (a {other.name} type)" if other is not None else ""
    verdict = MimeVerdict(normalised, declared)
    verdict.messages.append(
        Message(
            "MIME_TYPE_MISMATCH",
            Severity.ERROR,
            f"{where}: MIME type {declared!r}{names} contradicts the SOP class "
            f"Encapsulated {kind.name} Storage ({kind.sop_class_uid}), which holds "
            f"{kind.mime_type}; the content is not served",
        )
    )
    return verdict

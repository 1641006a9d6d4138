"""The content of a document display set: the exact document, served only when whole.

:func:`load_document` checks the metadata again, locates the document's bytes and
checks its signature; anything that would serve a partial or mislabelled document
becomes an error message on the display set and a :class:`ContentError`. The PDF
page count and the CDA title are computed on first use and recorded on the display set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import cached_property
from typing import BinaryIO, Final

from displaysets.errors import ContentError
from displaysets.records import DisplaySet, Severity

from displaysets_dicom_pdf.checks import judge_mime_type
from displaysets_dicom_pdf.document import (
    CHUNK_SIZE,
    DocumentBytes,
    DocumentProblem,
    locate_document,
)
from displaysets_dicom_pdf.kinds import (
    KIND_BY_SOP_CLASS,
    SIGNATURE_WINDOW,
    DocumentKind,
    Padding,
    signature_problem,
)

logger = logging.getLogger(__name__)

PDF_TAIL_WINDOW: Final = 1024
"""PDF readers look for the final %%EOF this far from the end (ISO 32000-1 7.5.5)."""


class EncapsulatedDocument:
    """The exact bytes of one encapsulated document, read on demand.

    Parameters
    ----------
    display_set
        The display set the document belongs to; lazily computed fields are recorded
        in its ``attributes``.
    kind
        The document's kind, from its SOP class.
    mime_type
        Its normalised MIME type.
    data
        Where its exact bytes are.
    """

    def __init__(
        self,
        display_set: DisplaySet,
        kind: DocumentKind,
        mime_type: str,
        data: DocumentBytes,
    ) -> None:
        self.display_set = display_set
        self.kind = kind
        self.mime_type = mime_type
        self._data = data

    @property
    def length(self) -> int:
        """The document's exact length in bytes."""
        return self._data.length

    @property
    def extension(self) -> str:
        """The file extension of the format, with its dot (``.pdf``)."""
        return self.kind.extension

    @property
    def document_title(self) -> str:
        """DocumentTitle from the DICOM metadata (empty when absent)."""
        return str(self.display_set.attributes.get("documentTitle") or "")

    def open(self) -> BinaryIO:
        """A seekable binary stream of the document; close it when done."""
        return self._data.open()

    def read(self) -> bytes:
        """The whole document as bytes (prefer :meth:`open` for large documents)."""
        return self._data.read()

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The document in pieces of at most ``chunk_size`` bytes."""
        return self._data.iter_chunks(chunk_size)

    def write_to(self, target: BinaryIO) -> int:
        """Stream the document into an open binary file; return the bytes written."""
        return self._data.copy_to(target)

    @cached_property
    def page_count(self) -> int | None:
        """The number of pages of a PDF (``None`` for other kinds or when unknown).

        Read with pypdf on first use; a PDF pypdf cannot read gives ``None`` and a
        ``PAGE_COUNT_UNAVAILABLE`` warning on the display set.
        """
        if self.kind.name != "PDF":
            return None
        try:
            import pypdf

            with self.open() as stream:
                reader = pypdf.PdfReader(stream)
                if reader.is_encrypted:
                    reader.decrypt("")
                count: int | None = len(reader.pages)
        except Exception as error:  # pypdf raises many kinds on damaged files
            count = None
            self.display_set.add_message(
                "PAGE_COUNT_UNAVAILABLE",
                Severity.WARNING,
                f"{self._data.where}: pypdf cannot count the pages: {error}",
            )
        self.display_set.attributes["pageCount"] = count
        return count

    @cached_property
    def cda_title(self) -> str | None:
        """The title of a CDA document from its XML (``None`` for other kinds, or
        when it has none or the XML cannot be read safely)."""
        if self.kind.name != "CDA":
            return None
        from displaysets_dicom_pdf.cda import CdaError, cda_title

        try:
            title = cda_title(self.iter_chunks(1 << 16))
        except CdaError as error:
            title = None
            self.display_set.add_message(
                "CDA_TITLE_UNAVAILABLE",
                Severity.WARNING,
                f"{self._data.where}: no title read from the CDA document: {error}",
            )
        self.display_set.attributes["cdaTitle"] = title
        return title

    def __repr__(self) -> str:
        return (
            f"<EncapsulatedDocument {self.kind.name} {self.mime_type} "
            f"{self.length} bytes of {self._data.where}>"
        )


def _refuse(display_set: DisplaySet, code: str, text: str) -> ContentError:
    display_set.add_message(code, Severity.ERROR, text)
    logger.warning("%s", text)
    return ContentError(text)


def load_document(display_set: DisplaySet) -> EncapsulatedDocument:
    """Locate and check a display set's document; the bytes are read only on demand.

    Raises
    ------
    ContentError
        When the document is missing, empty, cut short, or its MIME type or signature
        contradicts its SOP class; the reason is also added to the display set.
    """
    if not display_set.instances:
        raise ContentError(
            f"display set {display_set.display_set_instance_uid} carries no instance"
        )
    instance = display_set.instances[0]
    kind = KIND_BY_SOP_CLASS.get(display_set.sop_class_uid)
    if kind is None:
        raise ContentError(
            f"{instance.location}: SOP class {display_set.sop_class_uid} is not an "
            "encapsulated document this plugin knows"
        )
    verdict = judge_mime_type(instance, kind)
    for message in verdict.messages:
        display_set.add_message(message.code, message.severity, message.text)
    if verdict.refused:
        raise ContentError(next(m.text for m in verdict.messages))
    try:
        data = locate_document(instance, kind)
    except DocumentProblem as problem:
        raise _refuse(display_set, problem.code, problem.text) from problem
    except OSError as error:
        raise _refuse(
            display_set,
            "DOCUMENT_UNREADABLE",
            f"{instance.location}: {error.strerror or error}",
        ) from error
    try:
        head = data.read(SIGNATURE_WINDOW)
    except OSError as error:
        raise _refuse(display_set, "DOCUMENT_TRUNCATED", str(error)) from error
    problem_text = signature_problem(kind, head, data.length)
    if problem_text is not None:
        raise _refuse(
            display_set,
            "SIGNATURE_MISMATCH",
            f"{instance.location}: {problem_text}, though its SOP class is "
            f"Encapsulated {kind.name} Storage and its MIME type {verdict.mime_type}; "
            "the content is not served",
        )
    if kind.padding is Padding.PDF:
        start = max(0, data.length - PDF_TAIL_WINDOW)
        try:
            tail = data.read(data.length - start, start)
        except OSError as error:
            raise _refuse(display_set, "DOCUMENT_TRUNCATED", str(error)) from error
        if b"%%EOF" not in tail:
            raise _refuse(
                display_set,
                "DOCUMENT_INCOMPLETE",
                f"{instance.location}: the PDF has no %%EOF marker in its last "
                f"{PDF_TAIL_WINDOW} bytes: the document is cut short (or its "
                "EncapsulatedDocumentLength is too small); the content is not served",
            )
    display_set.attributes["byteLength"] = data.length
    return EncapsulatedDocument(display_set, kind, verdict.mime_type, data)

"""The five kinds of encapsulated document: SOP class, MIME type, viewport, extension.

The SOP class decides the kind; the MIME type an instance declares is normalised and
checked against it, and the document's own first bytes are checked against both.
"""

from __future__ import annotations

import enum
import logging
import struct
from dataclasses import dataclass
from typing import Final

logger = logging.getLogger(__name__)

ENCAPSULATED_PDF: Final = "1.2.840.10008.5.1.4.1.1.104.1"
ENCAPSULATED_CDA: Final = "1.2.840.10008.5.1.4.1.1.104.2"
ENCAPSULATED_STL: Final = "1.2.840.10008.5.1.4.1.1.104.3"
ENCAPSULATED_OBJ: Final = "1.2.840.10008.5.1.4.1.1.104.4"
ENCAPSULATED_MTL: Final = "1.2.840.10008.5.1.4.1.1.104.5"

SIGNATURE_WINDOW: Final = 1024
"""How many leading bytes the signature checks look at (PDF readers search as far)."""


class Padding(str, enum.Enum):
    """How a pad byte is recognised when EncapsulatedDocumentLength is absent."""

    PDF = "pdf"
    """A single NUL after the final ``%%EOF`` (and its end-of-line) is padding."""
    TEXT = "text"
    """A single trailing NUL is padding: the format is text and holds no NUL."""
    STL = "stl"
    """Binary STL has an exact size from its facet count; ASCII STL is text."""


@dataclass(frozen=True)
class DocumentKind:
    """What the plugin knows about one encapsulated document SOP class.

    Parameters
    ----------
    name
        Short name of the format (``PDF``, ``CDA``, ...).
    sop_class_uid
        The Encapsulated ... Storage SOP Class UID.
    viewport
        The viewport plugin key of its display sets.
    mime_type
        The MIME type the standard prescribes, normalised to lower case.
    aliases
        Other MIME types seen in the wild for the same format.
    extension
        File extension of an exported document, with its dot.
    padding
        How a pad byte is told from content when the length is not recorded.
    """

    name: str
    sop_class_uid: str
    viewport: str
    mime_type: str
    aliases: frozenset[str]
    extension: str
    padding: Padding

    def accepts(self, mime_type: str) -> bool:
        """True when a normalised MIME type names this kind's format."""
        return mime_type == self.mime_type or mime_type in self.aliases


KINDS: Final = (
    DocumentKind(
        "PDF",
        ENCAPSULATED_PDF,
        "pdf",
        "application/pdf",
        frozenset(
            {
                "application/x-pdf",
                "application/acrobat",
                "application/vnd.pdf",
                "applications/vnd.pdf",
                "text/pdf",
                "text/x-pdf",
            }
        ),
        ".pdf",
        Padding.PDF,
    ),
    DocumentKind(
        "CDA",
        ENCAPSULATED_CDA,
        "cda",
        "text/xml",
        frozenset(
            {"application/xml", "application/hl7-cda+xml", "application/cda+xml"}
        ),
        ".xml",
        Padding.TEXT,
    ),
    DocumentKind(
        "STL",
        ENCAPSULATED_STL,
        "stl",
        "model/stl",
        frozenset(
            {
                "application/sla",
                "application/vnd.ms-pki.stl",
                "model/x.stl-binary",
                "model/x.stl-ascii",
            }
        ),
        ".stl",
        Padding.STL,
    ),
    DocumentKind(
        "OBJ", ENCAPSULATED_OBJ, "obj", "model/obj", frozenset(), ".obj", Padding.TEXT
    ),
    DocumentKind(
        "MTL", ENCAPSULATED_MTL, "mtl", "model/mtl", frozenset(), ".mtl", Padding.TEXT
    ),
)
"""Every kind this plugin handles, in SOP Class UID order."""

KIND_BY_SOP_CLASS: Final = {kind.sop_class_uid: kind for kind in KINDS}


def normalise_mime_type(value: object) -> str:
    """Lower case, without parameters, padding or surrounding white space.

    ``"text/XML"`` becomes ``"text/xml"`` and ``"application/pdf; x=1"`` becomes
    ``"application/pdf"``; a missing value becomes the empty string.
    """
    if value is None:
        return ""
    text = str(value).replace("\x00", "").strip()
    return text.split(";", 1)[0].strip().lower()


def kind_of_mime_type(mime_type: str) -> DocumentKind | None:
    """The kind whose format a normalised MIME type names, if any."""
    for kind in KINDS:
        if kind.accepts(mime_type):
            return kind
    return None


def binary_stl_size(head: bytes) -> int | None:
    """The exact size a binary STL with this header has, from its facet count."""
    if len(head) < 84:
        return None
    (count,) = struct.unpack_from("<I", head, 80)
    return 84 + 50 * count


def signature_problem(kind: DocumentKind, head: bytes, length: int) -> str | None:
    """Why the document's first bytes contradict its kind, or ``None`` if they agree.

    Parameters
    ----------
    kind
        The kind the SOP class names.
    head
        The first :data:`SIGNATURE_WINDOW` bytes of the exact document (fewer when it
        is shorter).
    length
        The exact length of the document.
    """
    if kind.padding is Padding.PDF:
        if b"%PDF-" not in head[:SIGNATURE_WINDOW]:
            return "the document does not start with the PDF signature %PDF-"
        return None
    if kind.name == "CDA":
        text = head.removeprefix(b"\xef\xbb\xbf")
        if text[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return None  # UTF-16 with a byte order mark
        if not text.lstrip(b" \t\r\n").startswith(b"<"):
            return "the document is not XML (it does not start with '<')"
        return None
    if kind.padding is Padding.STL:
        if binary_stl_size(head) == length:
            return None
        if head.lstrip(b" \t\r\n")[:5].lower() == b"solid":
            return None
        return (
            "the document is neither binary STL (its size does not match its facet "
            "count) nor ASCII STL (it does not start with 'solid')"
        )
    if b"\x00" in head or head.startswith(b"%PDF-"):
        return f"the document is binary data, not {kind.name} text"
    return None

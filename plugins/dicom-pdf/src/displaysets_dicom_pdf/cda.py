"""The title of an HL7 CDA document, read safely from its XML.

The XML is parsed with the standard library's expat parser, incrementally, and parsing
stops once the title is read. A document type declaration or an entity declaration is
refused outright, so no external entity is fetched and no entity expands.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

logger = logging.getLogger(__name__)

HL7_V3: Final = "urn:hl7-org:v3"
"""The namespace of CDA R2 elements."""
_SEPARATOR: Final = "\x1f"


class CdaError(ValueError):
    """The XML cannot be read safely, or is not a CDA document."""


class _TitleFound(Exception):
    """Stops parsing once the title has been read."""


def cda_title(chunks: Iterable[bytes]) -> str | None:
    """The text of ``ClinicalDocument/title``, or ``None`` when it has none.

    Parameters
    ----------
    chunks
        The XML document in pieces, as read from the encapsulated document.

    Raises
    ------
    CdaError
        For XML that is malformed, declares a document type or entities, or whose
        root is not an HL7 v3 ``ClinicalDocument``.
    """
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator=_SEPARATOR)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    in_title = False
    text: list[str] = []

    def refuse_doctype(*_: object) -> None:
        raise CdaError("the XML declares a document type; CDA documents have none")

    def refuse_entity(*_: object) -> None:
        raise CdaError("the XML declares entities, which are not read")

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth, in_title
        depth += 1
        namespace, _, local = name.rpartition(_SEPARATOR)
        if depth == 1 and (namespace, local) != (HL7_V3, "ClinicalDocument"):
            shown = f"{{{namespace}}}{local}" if namespace else local
            raise CdaError(f"the root element is {shown}, not an HL7 ClinicalDocument")
        if depth == 2 and (namespace, local) == (HL7_V3, "title"):
            in_title = True

    def end(name: str) -> None:
        nonlocal depth
        if in_title and depth == 2:
            raise _TitleFound
        depth -= 1

    def characters(data: str) -> None:
        if in_title:
            text.append(data)

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_entity  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _TitleFound:
        return " ".join("".join(text).split())
    except expat.ExpatError as error:
        raise CdaError(f"the XML is malformed: {error}") from error
    return None

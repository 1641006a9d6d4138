"""Decoding WADO-RS answers: ``multipart/related`` bodies or a single plain part.

PS3.18 answers instance, bulk data and frame requests with ``multipart/related``; some
servers send one bare part instead (``application/dicom``,
``application/octet-stream``, ``application/pdf``). Both are accepted here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import Message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """One body part: its media type and bytes."""

    media_type: str
    content: bytes


def media_type_of(content_type: str) -> tuple[str, Message]:
    """The lower-case media type of a Content-Type header and its parsed form."""
    header = Message()
    header["Content-Type"] = content_type or "application/octet-stream"
    return header.get_content_type(), header


def _part_media_type(headers: bytes, default: str) -> str:
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-type":
            media_type, _ = media_type_of(value.decode("latin-1").strip())
            return media_type
    return default


def split_parts(content_type: str, body: bytes) -> list[Part]:
    """The parts of an answer; a non-multipart answer is one part.

    Raises
    ------
    ValueError
        A multipart body without boundary, with a part lacking its header end, or
        cut before its closing boundary.
    """
    media_type, header = media_type_of(content_type)
    if not media_type.startswith("multipart/"):
        return [Part(media_type, body)]
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError(f"{media_type} answer without a boundary parameter")
    default_type = header.get_param("type")
    default = default_type.lower() if isinstance(default_type, str) else ""
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    pieces = (b"\r\n" + body).split(delimiter)
    parts: list[Part] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts
        line_end = piece.find(b"\r\n")  # the rest of the boundary line (padding)
        if line_end < 0:
            raise ValueError("multipart part without a line end after its boundary")
        piece = piece[line_end + 2 :]
        if piece.startswith(b"\r\n"):
            headers, content = b"", piece[2:]
        else:
            header_end = piece.find(b"\r\n\r\n")
            if header_end < 0:
                raise ValueError(
                    "multipart part without the blank line ending its headers"
                )
            headers, content = piece[:header_end], piece[header_end + 4 :]
        parts.append(Part(_part_media_type(headers, default), content))
    raise ValueError("multipart answer ends before its closing boundary")

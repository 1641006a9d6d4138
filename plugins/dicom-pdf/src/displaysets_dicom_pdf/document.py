"""Find the exact bytes of an encapsulated document without copying them.

For a local file the EncapsulatedDocument value is located in the file and read
through a window onto it, so a large document is streamed and never held in memory.
Other sources (DICOM JSON, a server) hand over the whole dataset; then the value is
used in place through a memoryview, never copied. The exact length comes from
EncapsulatedDocumentLength or, without it, from the kind's padding rule.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

from displaysets_dicom_pdf.kinds import (
    SIGNATURE_WINDOW,
    DocumentKind,
    Padding,
    binary_stl_size,
)

if TYPE_CHECKING:
    from displaysets.model import Instance

logger = logging.getLogger(__name__)

CHUNK_SIZE: Final = 1 << 20
"""Bytes read or written at a time when a document is streamed."""

_ENCAPSULATED_DOCUMENT_TAG: Final = 0x00420011
_UNDEFINED_LENGTH: Final = 0xFFFFFFFF
_DEFLATED: Final = "1.2.840.10008.1.2.1.99"
_TAIL_WINDOW: Final = 64
_PDF_END: Final = re.compile(rb"%%EOF[\r\n]*\x00\Z")
"""A PDF whose final %%EOF (and end-of-line) is followed by one NUL: the pad byte."""


class DocumentProblem(Exception):
    """The document cannot be delivered whole; ``code`` names the reason.

    Parameters
    ----------
    code
        Stable upper-case message code (``DOCUMENT_MISSING``, ``DOCUMENT_TRUNCATED``).
    text
        What is wrong, for people, naming the file.
    """

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(frozen=True)
class LengthCheck:
    """What the metadata says about the length, judged before any byte is read."""

    value_length: int | None
    recorded_length: int | None
    problem: DocumentProblem | None
    warning: str | None


def recorded_length(instance: Instance) -> int | None:
    """EncapsulatedDocumentLength of the instance, when present and a number."""
    value = instance.dataset.get("EncapsulatedDocumentLength")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_lengths(instance: Instance) -> LengthCheck:
    """Judge the document's presence and length from the metadata alone."""
    where = instance.location
    recorded = recorded_length(instance)
    if "EncapsulatedDocument" not in instance.bulk_data:
        problem = DocumentProblem(
            "DOCUMENT_MISSING", f"{where}: the instance has no EncapsulatedDocument"
        )
        return LengthCheck(None, recorded, problem, None)
    value_length = instance.bulk_data["EncapsulatedDocument"]
    return _judge_lengths(where, value_length, recorded)


def _judge_lengths(
    where: str, value_length: int | None, recorded: int | None
) -> LengthCheck:
    if value_length == 0 or recorded == 0:
        problem = DocumentProblem(
            "DOCUMENT_EMPTY", f"{where}: the EncapsulatedDocument is empty"
        )
        return LengthCheck(value_length, recorded, problem, None)
    if value_length is None or recorded is None:
        return LengthCheck(value_length, recorded, None, None)
    if recorded > value_length:
        problem = DocumentProblem(
            "DOCUMENT_LENGTH_MISMATCH",
            f"{where}: EncapsulatedDocumentLength is {recorded} bytes but the "
            f"EncapsulatedDocument value holds only {value_length}: the document is "
            "incomplete",
        )
        return LengthCheck(value_length, recorded, problem, None)
    warning = None
    if recorded < value_length - 1:
        warning = (
            f"{where}: the EncapsulatedDocument value holds {value_length} bytes, "
            f"more than EncapsulatedDocumentLength ({recorded}) and one pad byte; "
            f"the first {recorded} bytes are delivered"
        )
    return LengthCheck(value_length, recorded, None, warning)


class _Window(io.RawIOBase):
    """A read-only, seekable view of ``length`` bytes of a file or buffer."""

    def __init__(
        self, base: BinaryIO | memoryview, offset: int, length: int, where: str
    ) -> None:
        super().__init__()
        self._base = base
        self._offset = offset
        self._length = length
        self._position = 0
        self._where = where

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        origin = {
            io.SEEK_SET: 0,
            io.SEEK_CUR: self._position,
            io.SEEK_END: self._length,
        }
        position = origin[whence] + offset
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def readall(self) -> bytes:
        wanted = max(self._length - self._position, 0)
        start = self._offset + self._position
        if isinstance(self._base, memoryview):
            data = bytes(self._base[start : start + wanted])
        else:
            self._base.seek(start)
            data = self._base.read(wanted)
        if len(data) < wanted:
            raise OSError(self._short_read(wanted - len(data)))
        self._position += len(data)
        return data

    def _short_read(self, missing: int) -> str:
        return (
            f"{self._where}: the file ended {missing} bytes before the end of the "
            "EncapsulatedDocument (was it changed or cut short?)"
        )

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), max(self._length - self._position, 0))
        if wanted == 0:
            return 0
        start = self._offset + self._position
        target = memoryview(buffer).cast("B")[:wanted]
        if isinstance(self._base, memoryview):
            target[:] = self._base[start : start + wanted]
            count = wanted
        else:
            self._base.seek(start)
            count = self._base.readinto(target) or 0  # type: ignore[attr-defined]
            if count < wanted:
                raise OSError(self._short_read(self._length - self._position - count))
        self._position += count
        return count

    def close(self) -> None:
        if not isinstance(self._base, memoryview):
            self._base.close()
        super().close()


@dataclass
class DocumentBytes:
    """The exact bytes of one document, opened on demand.

    Attributes
    ----------
    path
        The file the bytes live in, for a local file; ``None`` when held in memory.
    offset
        Where the document starts in the file (or in ``buffer``).
    length
        The exact length of the document, padding removed.
    buffer
        The EncapsulatedDocument value, for a source that delivered it whole.
    where
        The instance's location, for messages.
    """

    path: str | None
    offset: int
    length: int
    buffer: memoryview | None
    where: str

    def open(self) -> BinaryIO:
        """A seekable binary stream over exactly the document's bytes."""
        base: BinaryIO | memoryview
        if self.buffer is not None:
            base = self.buffer
        else:
            assert self.path is not None
            base = open(self.path, "rb", buffering=0)  # noqa: SIM115
        window = _Window(base, self.offset, self.length, self.where)
        return io.BufferedReader(window, CHUNK_SIZE)

    def read(self, size: int | None = None, start: int = 0) -> bytes:
        """``size`` bytes from ``start`` (all of them by default)."""
        with self.open() as stream:
            stream.seek(start)
            return stream.read(-1 if size is None else size)

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The document in pieces of at most ``chunk_size`` bytes."""
        with self.open() as stream:
            while chunk := stream.read(chunk_size):
                yield chunk

    def copy_to(self, target: BinaryIO) -> int:
        """Write the document to an open binary file; return the bytes written.

        A local document is copied by the kernel (``os.sendfile``) where it can be,
        so its bytes never pass through Python.
        """
        if self.path is not None and _sendfile_target(target):
            copied = self._sendfile(target)
            if copied is not None:
                return copied
        written = 0
        for chunk in self.iter_chunks():
            target.write(chunk)
            written += len(chunk)
        return written

    def _sendfile(self, target: BinaryIO) -> int | None:
        assert self.path is not None
        target.flush()
        out_fd = target.fileno()
        start = os.lseek(out_fd, 0, os.SEEK_CUR)
        with open(self.path, "rb", buffering=0) as source:
            in_fd = source.fileno()
            sent = 0
            while sent < self.length:
                try:
                    count = os.sendfile(
                        out_fd, in_fd, self.offset + sent, self.length - sent
                    )
                except OSError:
                    if sent:
                        raise
                    return None  # not supported between these files: copy in Python
                if count == 0:
                    raise OSError(
                        f"{self.where}: the file ended {self.length - sent} bytes "
                        "before the end of the EncapsulatedDocument (was it changed "
                        "or cut short?)"
                    )
                sent += count
        os.lseek(out_fd, start + sent, os.SEEK_SET)
        return sent


def _sendfile_target(target: BinaryIO) -> bool:
    if not hasattr(os, "sendfile"):
        return False
    try:
        target.fileno()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return False
    return True


def _exact_length(
    kind: DocumentKind, value: DocumentBytes, recorded: int | None
) -> int:
    """The document's length once padding is removed."""
    if recorded is not None:
        return recorded
    length = value.length
    last = value.read(_TAIL_WINDOW, max(length - _TAIL_WINDOW, 0))
    if not last.endswith(b"\x00"):
        return length
    if kind.padding is Padding.PDF:
        return length - 1 if _PDF_END.search(last) else length
    if kind.padding is Padding.STL:
        head = value.read(84)
        if binary_stl_size(head) == length:
            return length  # binary STL ends in a zero attribute count, not padding
    return length - 1


def locate_document(instance: Instance, kind: DocumentKind) -> DocumentBytes:
    """Find the exact bytes of the instance's document.

    Raises
    ------
    DocumentProblem
        When the document is missing, empty, cut short, or its value cannot be found.
    """
    check = check_lengths(instance)
    if check.problem is not None:
        raise check.problem
    where = instance.location
    located = _locate_in_file(instance) if _is_local_file(instance) else None
    if located is None:
        located = _locate_in_dataset(instance)
    declared = check.value_length
    if declared is not None and located.length < declared:
        raise DocumentProblem(
            "DOCUMENT_TRUNCATED",
            f"{where}: only {located.length} of the {declared} bytes of the "
            "EncapsulatedDocument could be read",
        )
    check = _judge_lengths(where, located.length, check.recorded_length)
    if check.problem is not None:
        raise check.problem
    located.length = _exact_length(kind, located, check.recorded_length)
    return located


def _is_local_file(instance: Instance) -> bool:
    from displaysets.sources.files import FileSource

    return isinstance(instance.source, FileSource) and os.path.isfile(instance.location)


def _locate_in_file(instance: Instance) -> DocumentBytes | None:
    """Find the value's offset in a local file; ``None`` when only the source's full
    read can (a deflated file, whose offsets refer to the inflated stream, or a file
    plain ``dcmread`` cannot parse)."""
    import pydicom
    from pydicom.dataelem import RawDataElement

    path = instance.location
    try:
        dataset = pydicom.dcmread(
            path,
            defer_size=SIGNATURE_WINDOW,
            force=True,
            specific_tags=["EncapsulatedDocument"],
        )
    except Exception as error:  # pydicom raises many kinds on malformed input
        logger.info("%s: reading through the source instead: %s", path, error)
        return None  # the source's own reader may recover what dcmread cannot
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and meta.get("TransferSyntaxUID") == _DEFLATED:
        return None
    element = dataset._dict.get(_ENCAPSULATED_DOCUMENT_TAG)  # type: ignore[call-overload]
    if element is None:
        raise DocumentProblem(
            "DOCUMENT_MISSING", f"{path}: the file has no EncapsulatedDocument"
        )
    if not isinstance(element, RawDataElement) or element.value_tell is None:
        return None
    if element.length == _UNDEFINED_LENGTH:
        raise DocumentProblem(
            "DOCUMENT_MALFORMED",
            f"{path}: the EncapsulatedDocument has an undefined length, which the "
            "standard does not allow",
        )
    size = os.path.getsize(path)
    end = element.value_tell + element.length
    if end > size:
        present = max(size - element.value_tell, 0)
        raise DocumentProblem(
            "DOCUMENT_TRUNCATED",
            f"{path}: the file ends inside the EncapsulatedDocument: {present} of "
            f"{element.length} bytes present",
        )
    if element.value is not None:
        buffer = memoryview(element.value)
        return DocumentBytes(None, 0, len(buffer), buffer, path)
    return DocumentBytes(path, element.value_tell, int(element.length), None, path)


def _locate_in_dataset(instance: Instance) -> DocumentBytes:
    """Take the value from the whole dataset the source delivers."""
    where = instance.location
    try:
        dataset = instance.open_dataset()
    except Exception as error:
        raise DocumentProblem(
            "DOCUMENT_UNREADABLE", f"{where}: cannot fetch the document: {error}"
        ) from error
    value = dataset.get("EncapsulatedDocument")
    if value is None:
        raise DocumentProblem(
            "DOCUMENT_MISSING", f"{where}: the instance has no EncapsulatedDocument"
        )
    buffer = memoryview(value)
    return DocumentBytes(None, 0, len(buffer), buffer, where)

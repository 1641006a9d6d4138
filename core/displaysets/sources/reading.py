"""Read one local DICOM file into an :class:`~displaysets.model.Instance`.

Files are opened read-only. Large values are deferred (pydicom reads them from the file
when asked) and bulk values such as pixel data and encapsulated documents are taken out
of the metadata, their byte lengths kept, so building display sets never reads them.
Files without preamble or File Meta, implicit VR, big endian and deflated files are
read; a file cut short is read as far as it goes and flagged.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import BaseTag, Tag
from pydicom.uid import DeflatedExplicitVRLittleEndian

from displaysets.model import PIXEL_DATA_KEYWORDS, Instance
from displaysets.records import Severity
from displaysets.uids import deterministic_uid

if TYPE_CHECKING:
    from displaysets.sources.base import DataSource

logger = logging.getLogger(__name__)

DEFER_SIZE: Final = 64 * 1024
"""Values at least this long stay in the file until a handler asks for them."""

MEDIA_STORAGE_DIRECTORY: Final = "1.2.840.10008.1.3.10"
"""SOP class of a DICOMDIR: a directory of the file-set, not an instance."""

BULK_KEYWORDS: Final = (*PIXEL_DATA_KEYWORDS, "EncapsulatedDocument")
_UNDEFINED_LENGTH: Final = 0xFFFFFFFF
_ELEMENT_HEADER_MAX: Final = 12
"""An explicit VR header with a 4-byte length is 12 bytes; fewer left is a cut one."""
_STRAY_SEARCH: Final = 16
"""How many leading bytes may precede the first element of a headless file."""

# Groups a file without preamble may start with: File Meta (0002) or the
# Identifying group (0008), little or big endian.
_LITTLE_ENDIAN_GROUPS: Final = (b"\x02\x00", b"\x08\x00")
_BIG_ENDIAN_GROUPS: Final = (b"\x00\x02", b"\x00\x08")


class NotDicom(Exception):
    """The file is not DICOM at all; it is skipped and counted, not reported."""


class UnreadableFile(Exception):
    """The file looks like DICOM but cannot be read; the message says why."""


class Dicomdir(Exception):
    """The file is a DICOMDIR; the caller decides whether to follow it."""


@dataclass(frozen=True)
class ReadResult:
    """An instance and the warnings met while reading it."""

    instance: Instance
    warnings: tuple[tuple[str, str], ...]


def _is_element_header(head: bytes, offset: int, size: int) -> bool:
    """True when ``head[offset:]`` starts like a data element of group 0002 or 0008:
    an explicit VR (two upper-case letters) or an implicit length within the file."""
    group = head[offset : offset + 2]
    vr = head[offset + 4 : offset + 6]
    explicit = len(vr) == 2 and vr.isalpha() and vr.isupper()
    if group in _LITTLE_ENDIAN_GROUPS:
        implicit_length = int.from_bytes(head[offset + 4 : offset + 8], "little")
        return explicit or implicit_length <= size
    return group in _BIG_ENDIAN_GROUPS and explicit


def _looks_like_dicom(path: str) -> tuple[bool, bool]:
    """(has DICM prefix, may be a headless DICOM file)."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(132)
    if len(head) == 132 and head[128:132] == b"DICM":
        return True, True
    if len(head) < 8:
        return False, False
    return False, _is_element_header(head, 0, size)


def find_stray_offset(path: str) -> int | None:
    """Offset of the first data element of a headless file that starts with a few
    stray bytes, or ``None``."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(_STRAY_SEARCH + 8)
    for offset in range(1, min(len(head) - 8, _STRAY_SEARCH)):
        if head[offset : offset + 2] in _LITTLE_ENDIAN_GROUPS and _is_element_header(
            head, offset, size
        ):
            vr = head[offset + 4 : offset + 6]
            if vr.isalpha() and vr.isupper():
                return offset
    return None


def read_dataset(
    path: str, *, defer_size: int | None = DEFER_SIZE, offset: int = 0
) -> FileDataset:
    """``pydicom.dcmread`` tolerant of missing preamble and File Meta.

    ``offset`` skips stray leading bytes (see :func:`find_stray_offset`). Raises
    :class:`NotDicom` for a file that does not look like DICOM and
    :class:`UnreadableFile` for one that does but cannot be parsed.
    """
    if offset:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = io.BytesIO(handle.read())
        has_prefix, maybe_headless, target = False, True, data
        defer_size = None
    else:
        has_prefix, maybe_headless = _looks_like_dicom(path)
        target = path  # type: ignore[assignment]
    if not maybe_headless:
        raise NotDicom(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(target, defer_size=defer_size, force=not has_prefix)
    except InvalidDicomError as error:
        raise NotDicom(path) from error
    except RecursionError as error:
        raise UnreadableFile(
            "sequences are nested too deeply to read (beyond Python's recursion limit)"
        ) from error
    except Exception as error:  # pydicom raises many kinds on malformed input
        raise UnreadableFile(f"cannot parse DICOM: {error}") from error


def _value_length(element: object) -> int | None:
    if isinstance(element, RawDataElement):
        length = element.length
        return None if length == _UNDEFINED_LENGTH else int(length)
    value = getattr(element, "value", None)
    try:
        return len(value) if value is not None else 0
    except TypeError:
        return None


def _check_truncation(
    dataset: Dataset, path: str, deflated: bool
) -> tuple[int | None, str] | None:
    """Where the file ends before a value or element it declares: the tag of the
    element cut short (``None`` for a cut element header) and a description.

    Runs before any element is converted, while every top-level element still knows
    where its value lies in the file.
    """
    if deflated:
        return None  # offsets refer to the inflated stream, not the file
    size = os.path.getsize(path)
    last_end = 0
    undefined_last = False
    for tag, element in dataset._dict.items():
        if not isinstance(element, RawDataElement) or element.value_tell is None:
            continue
        if element.length == _UNDEFINED_LENGTH:
            undefined_last = True
            continue
        undefined_last = False
        end = element.value_tell + element.length
        if end > size:
            keyword = pydicom.datadict.keyword_for_tag(tag) or str(Tag(tag))
            return tag, (
                f"file ends inside {keyword}: {size - element.value_tell} of "
                f"{element.length} bytes present"
            )
        last_end = max(last_end, end)
    trailing = size - last_end
    if last_end and not undefined_last and 0 < trailing < _ELEMENT_HEADER_MAX:
        return None, f"file ends inside a data element header ({trailing} bytes of it)"
    return None


def _is_sequence(dataset: Dataset, tag: BaseTag) -> bool:
    element = dataset._dict.get(tag)
    vr = getattr(element, "VR", None)
    if vr is None:
        try:
            vr = pydicom.datadict.dictionary_VR(tag)
        except KeyError:
            return False
    return vr == "SQ"


def _instance_uids(dataset: FileDataset, path: str) -> list[tuple[str, str]]:
    """Fill SOP Class/Instance UIDs from File Meta when the dataset lacks them."""
    notes: list[tuple[str, str]] = []
    meta = getattr(dataset, "file_meta", None) or Dataset()
    if not dataset.get("SOPClassUID"):
        media = meta.get("MediaStorageSOPClassUID")
        if media:
            dataset.SOPClassUID = media
            notes.append(
                (
                    "MISSING_SOP_CLASS_UID",
                    "no SOP Class UID in the dataset; "
                    "used MediaStorageSOPClassUID from the File Meta Information",
                )
            )
        else:
            notes.append(("MISSING_SOP_CLASS_UID", "no SOP Class UID"))
    if not dataset.get("SOPInstanceUID"):
        media = meta.get("MediaStorageSOPInstanceUID")
        if media:
            dataset.SOPInstanceUID = media
            notes.append(
                (
                    "MISSING_SOP_INSTANCE_UID",
                    "no SOP Instance UID in the dataset; "
                    "used MediaStorageSOPInstanceUID from the File Meta Information",
                )
            )
        else:
            with open(path, "rb") as handle:
                import hashlib

                digest = hashlib.sha256(handle.read()).hexdigest()
            dataset.SOPInstanceUID = deterministic_uid(["instance", digest])
            notes.append(
                (
                    "MISSING_SOP_INSTANCE_UID",
                    "no SOP Instance UID; a UID derived "
                    "from the file's content stands in for it",
                )
            )
    for keyword, code in (
        ("StudyInstanceUID", "MISSING_STUDY_INSTANCE_UID"),
        ("SeriesInstanceUID", "MISSING_SERIES_INSTANCE_UID"),
    ):
        if not dataset.get(keyword):
            dataset.setdefault(keyword, "")
            setattr(
                dataset, keyword, deterministic_uid([keyword, dataset.SOPInstanceUID])
            )
            notes.append(
                (
                    code,
                    f"no {keyword}; a UID derived from the SOP Instance "
                    "UID stands in for it",
                )
            )
    return notes


def read_instance(path: str, source: DataSource) -> Instance:
    """Read ``path`` into an instance whose metadata holds no bulk values.

    Raises :class:`NotDicom`, :class:`UnreadableFile` or :class:`Dicomdir`.
    """
    offset = 0
    try:
        dataset = read_dataset(path)
    except NotDicom:
        found = find_stray_offset(path)
        if found is None:
            raise
        offset = found
        dataset = read_dataset(path, offset=offset)
    meta = getattr(dataset, "file_meta", None) or Dataset()
    deflated = meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian
    # before any element is converted: raw elements still know their file offsets
    truncated = None if offset else _check_truncation(dataset, path, deflated)
    if truncated is not None and truncated[0] is not None:
        cut = Tag(truncated[0])
        if pydicom.datadict.keyword_for_tag(cut) not in BULK_KEYWORDS and not (
            _is_sequence(dataset, cut)
        ):
            # Half a value is not handed to handlers: the element is left out. A cut
            # sequence stays, for handlers that show the items read before the cut.
            del dataset[cut]
            truncated = (cut, truncated[1] + "; the element is left out")
    sop_class = dataset.get("SOPClassUID") or meta.get("MediaStorageSOPClassUID")
    if sop_class == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in dataset:
        raise Dicomdir(path)
    if len(dataset) == 0:
        raise UnreadableFile("no data elements could be read")

    notes = _instance_uids(dataset, path)
    if offset:
        notes.insert(
            0,
            (
                "STRAY_LEADING_BYTES",
                f"{offset} stray byte(s) before the "
                "first data element; read from there",
            ),
        )
    if truncated:
        notes.append(("TRUNCATED", truncated[1]))

    bulk: dict[str, int | None] = {}
    for keyword in BULK_KEYWORDS:
        tag = Tag(pydicom.datadict.tag_for_keyword(keyword) or 0)
        element = dataset._dict.get(tag)
        if element is None:
            continue
        bulk[keyword] = _value_length(element)
        del dataset[tag]

    instance = Instance(
        dataset=dataset,
        location=path,
        source=source,
        bulk_data=bulk,
        source_key={"offset": offset} if offset else None,
    )
    for code, text in notes:
        severity = Severity.ERROR if code == "TRUNCATED" else Severity.WARNING
        instance.add_message(code, severity, f"{path}: {text}")
    return instance

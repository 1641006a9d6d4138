"""Export a document display set to a file with the right extension, safely.

The document is streamed into a temporary file beside the target and moved into place
only when complete, so a failed export leaves no partial file. An existing file is
replaced only when asked. File names come from the SOP Instance UID only once it is
checked to be a UID (digits and dots); otherwise from a digest of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from displaysets.errors import ContentError, DestinationExists, ExportError
from displaysets.records import DisplaySet
from displaysets.uids import safe_file_stem as core_safe_file_stem

from displaysets_dicom_pdf.content import load_document

logger = logging.getLogger(__name__)


def safe_file_stem(sop_instance_uid: str) -> str:
    """The core's safe stem with the ``document`` prefix for invalid UIDs."""
    return core_safe_file_stem(sop_instance_uid, "document")


def export_target(display_set: DisplaySet, destination: Path, extension: str) -> Path:
    """The file an export to ``destination`` writes.

    An existing folder, or a path without a suffix, is a folder: the file inside it is
    named after the SOP Instance UID. A path with the format's extension is the file
    itself. Any other suffix is refused, so a PDF is never written as ``.txt``.
    """
    if destination.is_dir():
        return destination / (safe_file_stem(display_set.sop_instance_uid) + extension)
    suffix = destination.suffix.lower()
    if not suffix:
        return destination / (safe_file_stem(display_set.sop_instance_uid) + extension)
    if suffix != extension:
        raise ExportError(
            f"{destination}: this document exports as a {extension} file; "
            f"name a folder or a {extension} file"
        )
    return destination


def export_document(
    display_set: DisplaySet, destination: Path, overwrite: bool = False
) -> list[Path]:
    """Write the display set's document; return the one file written.

    Raises
    ------
    ExportError
        When the target exists and ``overwrite`` is false, or cannot be written.
    ContentError
        When the document cannot be served whole (see
        :func:`~displaysets_dicom_pdf.content.load_document`).
    """
    document = load_document(display_set)
    target = export_target(display_set, Path(destination), document.extension)
    if target.exists() and not overwrite:
        raise DestinationExists(target)
    if target.is_dir():
        raise ExportError(f"{target} is a folder; it is not replaced by a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(
            f"{target.parent}: cannot create the folder: {error}"
        ) from error

    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            written = document.write_to(stream)
        if written != document.length:
            raise ContentError(
                f"{display_set.instances[0].location}: wrote {written} of "
                f"{document.length} bytes of the document"
            )
        _move_into_place(temporary, target, overwrite)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ExportError(f"{target}: cannot write the document: {error}") from error
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    os.chmod(target, 0o666 & ~_umask())
    logger.info("wrote %s (%d bytes)", target, document.length)
    return [target]


def _move_into_place(temporary: str, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)  # fails if the target appeared meanwhile
    except FileExistsError as error:
        raise DestinationExists(target) from error
    except OSError:
        if target.exists():
            raise DestinationExists(target) from None
        os.replace(temporary, target)  # a file system without hard links
        return
    os.unlink(temporary)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

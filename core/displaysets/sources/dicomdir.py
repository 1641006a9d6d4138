"""A DICOMDIR as a data source: the files its directory records reference.

Records are read in file order, without following the record offsets, so DICOMDIRs with
missing or stale offsets and reordered records still work. Referenced File IDs are
resolved inside the DICOMDIR's folder only, tolerating case differences (media written
on one system and read on another); a path that would leave the folder is refused.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from displaysets.records import Severity
from displaysets.sources.base import Problem, ScanProgress
from displaysets.sources.files import FileSource
from displaysets.sources.reading import NotDicom, UnreadableFile, read_dataset

if TYPE_CHECKING:
    from displaysets.model import Instance

logger = logging.getLogger(__name__)


def _component_in(folder: str, name: str) -> str | None:
    """The entry of ``folder`` called ``name``, matched exactly, else ignoring case."""
    exact = os.path.join(folder, name)
    if os.path.exists(exact):
        return exact
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    lowered = name.lower()
    for entry in sorted(entries):
        if entry.lower() == lowered:
            return os.path.join(folder, entry)
    return None


def resolve_file_id(root: str, components: list[str]) -> tuple[str | None, str]:
    """Resolve a Referenced File ID below ``root``; (path or None, reason)."""
    if not components:
        return None, "empty Referenced File ID"
    for part in components:
        if (
            part in ("", ".", "..")
            or "/" in part
            or "\\" in part
            or os.path.isabs(part)
        ):
            return None, f"unsafe component {part!r} in Referenced File ID"
    current = root
    for part in components:
        found = _component_in(current, part)
        if found is None:
            return None, "referenced file does not exist"
        current = found
    real_root = os.path.realpath(root)
    real = os.path.realpath(current)
    if os.path.commonpath([real_root, real]) != real_root:
        return None, "referenced file resolves outside the DICOMDIR's folder"
    if not os.path.isfile(real):
        return None, "referenced path is not a file"
    return current, ""


class DicomdirSource(FileSource):
    """The instances a DICOMDIR lists. The DICOMDIR itself is not an instance."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__([path])
        self.dicomdir = os.fspath(path)

    @property
    def description(self) -> str:
        return self.dicomdir

    def input_paths(self) -> list[str]:
        return [os.path.dirname(os.path.abspath(self.dicomdir))]

    def referenced_files(self, report: Callable[[Problem], None]) -> list[str]:
        """Paths of the files the directory records reference, in record order."""
        try:
            dataset = read_dataset(self.dicomdir, defer_size=None)
            records = list(dataset.get("DirectoryRecordSequence", []))
        except (NotDicom, UnreadableFile, OSError) as error:
            report(
                Problem(
                    self.dicomdir,
                    "UNREADABLE_DICOMDIR",
                    Severity.ERROR,
                    f"cannot read DICOMDIR: {error}",
                )
            )
            return []
        root = os.path.dirname(os.path.abspath(self.dicomdir))
        paths: list[str] = []
        for number, record in enumerate(records, 1):
            file_id = record.get("ReferencedFileID")
            if file_id is None:
                continue
            components = [file_id] if isinstance(file_id, str) else list(file_id)
            path, reason = resolve_file_id(root, [str(c) for c in components])
            if path is None:
                shown = "\\".join(str(c) for c in components)
                report(
                    Problem(
                        self.dicomdir,
                        "UNRESOLVED_FILE_ID",
                        Severity.ERROR,
                        f"directory record {number} ({shown}): {reason}",
                    )
                )
                continue
            if path not in paths:
                paths.append(path)
        return paths

    def iter_instances(
        self,
        report: Callable[[Problem], None],
        progress: ScanProgress | None = None,
    ) -> Iterator[Instance]:
        self.files_seen += 1
        files = self.referenced_files(report)
        for done, path in enumerate(files, 1):
            self.files_seen += 1
            yield from self._read(path, report, top_level=False)
            if progress is not None:
                progress(done, len(files))

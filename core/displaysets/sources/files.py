"""Local files and folders as a data source, and the choice of source for a path."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from displaysets.records import Severity
from displaysets.sources.base import DataSource, Problem, ScanProgress
from displaysets.sources.reading import (
    Dicomdir,
    NotDicom,
    UnreadableFile,
    read_instance,
)

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from displaysets.model import Instance

logger = logging.getLogger(__name__)


DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")
"""File name endings that claim DICOM content: such a file that is not DICOM is
reported as unreadable instead of being skipped quietly."""


def _looks_like_json(path: str) -> bool:
    if path.lower().endswith(".json"):
        return True
    with open(path, "rb") as handle:
        head = handle.read(64).lstrip()
    return head[:1] in (b"[", b"{")


def walk_files(root: str) -> list[str]:
    """Every regular file under ``root``, sorted, without following symlinked dirs;
    broken symbolic links are listed too, so that they are reported."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.isfile(path) or os.path.islink(path):
                found.append(path)
    return found


class FileSource(DataSource):
    """DICOM files (and DICOM JSON files) given as paths or found in folders.

    Folders are walked recursively. A DICOMDIR met in a folder is not an instance:
    it is counted and skipped, since the files it lists are read from the folder.
    Non-DICOM files are skipped and counted; unreadable ones are reported.
    """

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        super().__init__()
        self.paths = [os.fspath(p) for p in paths]
        self.dicomdirs_skipped = 0
        self.dicomdir_folders: list[str] = []

    @property
    def description(self) -> str:
        return ", ".join(self.paths)

    def input_paths(self) -> list[str]:
        return [*self.paths, *self.dicomdir_folders]

    def _files(self) -> list[str]:
        files: list[str] = []
        for path in self.paths:
            files.extend(walk_files(path) if os.path.isdir(path) else [path])
        return files

    def iter_instances(
        self,
        report: Callable[[Problem], None],
        progress: ScanProgress | None = None,
    ) -> Iterator[Instance]:
        files = self._files()
        for done, path in enumerate(files, 1):
            self.files_seen += 1
            yield from self._read(path, report, top_level=path in self.paths)
            if progress is not None:
                progress(done, len(files))

    def _read(
        self, path: str, report: Callable[[Problem], None], *, top_level: bool
    ) -> Iterator[Instance]:
        if not os.path.exists(path):
            if os.path.islink(path):
                text = f"broken symbolic link to {os.readlink(path)}"
                report(Problem(path, "BROKEN_LINK", Severity.WARNING, text))
            else:
                report(Problem(path, "MISSING_FILE", Severity.ERROR, "no such file"))
            return
        try:
            instance = read_instance(path, self)
        except NotDicom:
            if _looks_like_json(path):
                from displaysets.sources.dicomjson import DicomJsonSource

                json_source = DicomJsonSource(path)
                yield from json_source.iter_instances(report, quiet_if_not_json=True)
                if json_source.non_dicom_skipped:
                    self.non_dicom_skipped += 1
                return
            if path.lower().endswith(DICOM_SUFFIXES):
                report(
                    Problem(
                        path,
                        "UNREADABLE",
                        Severity.ERROR,
                        "named as a DICOM file but holds no DICOM data elements",
                    )
                )
                return
            self.non_dicom_skipped += 1
            logger.debug("%s: not a DICOM file, skipped", path)
            return
        except Dicomdir:
            if top_level:
                from displaysets.sources.dicomdir import DicomdirSource

                dicomdir = DicomdirSource(path)
                self.dicomdir_folders.extend(dicomdir.input_paths())
                yield from dicomdir.iter_instances(report)
                return
            self.dicomdirs_skipped += 1
            logger.debug("%s: DICOMDIR inside a scanned folder, skipped", path)
            return
        except UnreadableFile as error:
            report(Problem(path, "UNREADABLE", Severity.ERROR, str(error)))
            return
        except OSError as error:
            report(
                Problem(
                    path, "UNREADABLE", Severity.ERROR, error.strerror or str(error)
                )
            )
            return
        for message in instance.messages:
            if message.code == "TRUNCATED":
                text = message.text.removeprefix(f"{path}: ")
                report(Problem(path, message.code, message.severity, text))
        yield instance

    def open_dataset(self, instance: Instance) -> Dataset:
        from displaysets.sources.reading import read_dataset

        key = instance.source_key
        offset = key.get("offset", 0) if isinstance(key, dict) else 0
        return read_dataset(instance.location, defer_size=None, offset=offset)

    def fingerprint(self, instance: Instance) -> str:
        digest = hashlib.sha256()
        with open(instance.location, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def sources_for_paths(paths: Sequence[str | os.PathLike[str]]) -> list[DataSource]:
    """One :class:`FileSource` for local paths; a path that is a DICOMDIR is followed
    as a DICOMDIR, a JSON file read as DICOM JSON, anything else as DICOM files."""
    local = [Path(p) for p in paths]
    return [FileSource(local)] if local else []

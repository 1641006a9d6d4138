"""Data sources: where instances come from (folders, files, DICOMDIR, DICOM JSON)."""

from displaysets.sources.base import DataSource, Problem, ScanProgress
from displaysets.sources.dicomdir import DicomdirSource
from displaysets.sources.dicomjson import DicomJsonSource
from displaysets.sources.files import FileSource, sources_for_paths

__all__ = [
    "DataSource",
    "DicomJsonSource",
    "DicomdirSource",
    "FileSource",
    "Problem",
    "ScanProgress",
    "sources_for_paths",
]

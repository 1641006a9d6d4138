"""Data sources: where instances come from (folders, files, DICOMDIR, DICOM JSON,
DICOMweb). Names load on first use, so importing the package reads no DICOM code."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DataSource": "displaysets.sources.base",
    "Problem": "displaysets.sources.base",
    "ScanProgress": "displaysets.sources.base",
    "DicomdirSource": "displaysets.sources.dicomdir",
    "DicomJsonSource": "displaysets.sources.dicomjson",
    "FileSource": "displaysets.sources.files",
    "sources_for_paths": "displaysets.sources.files",
    "DicomWebSource": "displaysets.sources.dicomweb",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'displaysets.sources' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

"""The core's handler contract, run on every segmentation of the corpus.

The corpus holds different files with one SOP Instance UID (a big endian copy of a
SEG). The core keeps both and salts the UIDs of whichever copy it reads second, so
display set UIDs of such a pair depend on scan order, which the contract's
determinism check forbids; each such file therefore runs the contract on its own.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import ClassVar

import displaysets_dicom_seg.plugin
import pydicom
from displaysets.testing import HandlerContract, require_corpus


def _split_by_sop_instance_uid() -> tuple[list[Path], list[Path]]:
    """Files with a SOP Instance UID of their own, and later files repeating one."""
    unique: list[Path] = []
    repeats: list[Path] = []
    seen: set[str] = set()
    for path in sorted(require_corpus("seg").rglob("*.dcm")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        (repeats if uid in seen else unique).append(path)
        seen.add(uid)
    return unique, repeats


class TestDicomSegContract(HandlerContract):
    plugin: ClassVar[object] = displaysets_dicom_seg.plugin
    plugin_name = "dicom-seg"
    distribution = "displaysets-dicom-seg"

    def sample_files(self) -> list[Path]:
        return _split_by_sop_instance_uid()[0]


class TestDicomSegContractOnRepeatedUids(TestDicomSegContract):
    def sample_files(self) -> list[Path]:
        return _split_by_sop_instance_uid()[1]

"""The core's handler contract, run on every segmentation of the corpus at once
(including the two different files that share one SOP Instance UID)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import displaysets_dicom_seg.plugin
from displaysets.testing import HandlerContract, require_corpus


class TestDicomSegContract(HandlerContract):
    plugin: ClassVar[object] = displaysets_dicom_seg.plugin
    plugin_name = "dicom-seg"
    distribution = "displaysets-dicom-seg"

    def sample_files(self) -> list[Path]:
        return sorted(require_corpus("seg").rglob("*.dcm"))

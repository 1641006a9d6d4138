"""The core's handler contract, run on every whole slide sample of the corpus: the
files of sm/, the toolmade pyramids and the whole slide DICOM JSON metadata."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import displaysets_dicom_microscopy.plugin as microscopy_plugin
import pytest
from displaysets.testing import HandlerContract, require_corpus

WSI_JSON = (
    "dmv_C3N-01016-22_wrapped.json",
    "dmv_metadata_wsi.json",
    "ezwsi_sample_instances_wrapped.json",
)
CONFLICTING_COPY = "highdicom_sm_image_control.dcm"
"""Same SOP Instance UID as sm/highdicom_sm_image.dcm with different bytes."""


class TestMicroscopyContract(HandlerContract):
    plugin: ClassVar[object] = microscopy_plugin
    plugin_name = "dicom-microscopy"
    distribution = "displaysets-dicom-microscopy"
    leave_out: tuple[str, ...] = ()

    def sample_files(self) -> list[Path]:
        files = sorted(require_corpus("sm").glob("*.dcm"))
        files += sorted(require_corpus("toolmade", "sm").glob("*/*.dcm"))
        files += [require_corpus("dicomweb", name) for name in WSI_JSON]
        return [f for f in files if f.name not in self.leave_out]

    def test_display_set_uids_are_deterministic(self) -> None:
        """The contract's check, on the samples without the conflicting copy: the
        core salts the display set UID of whichever copy of a duplicated SOP Instance
        UID it reads second, so reversing the file order swaps the two UIDs (see the
        expected failure below)."""
        self.leave_out = (CONFLICTING_COPY,)
        super().test_display_set_uids_are_deterministic()

    @pytest.mark.xfail(
        strict=True,
        reason="core: the UID salt of a conflicting duplicate depends on read order",
    )
    def test_display_set_uids_with_a_conflicting_duplicate(self) -> None:
        self.leave_out = ()
        super().test_display_set_uids_are_deterministic()

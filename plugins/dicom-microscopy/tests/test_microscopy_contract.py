"""The core's handler contract, run on every whole slide sample of the corpus: the
files of sm/, the toolmade pyramids and the whole slide DICOM JSON metadata."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import displaysets_dicom_microscopy.plugin as microscopy_plugin
from displaysets.testing import HandlerContract, require_corpus

WSI_JSON = (
    "dmv_C3N-01016-22_wrapped.json",
    "dmv_metadata_wsi.json",
    "ezwsi_sample_instances_wrapped.json",
)


class TestMicroscopyContract(HandlerContract):
    plugin: ClassVar[object] = microscopy_plugin
    plugin_name = "dicom-microscopy"
    distribution = "displaysets-dicom-microscopy"

    def sample_files(self) -> list[Path]:
        # sm/ holds two different files sharing one SOP Instance UID
        # (highdicom_sm_image.dcm and highdicom_sm_image_control.dcm); the contract
        # checks their display set UIDs do not depend on the file order.
        files = sorted(require_corpus("sm").glob("*.dcm"))
        files += sorted(require_corpus("toolmade", "sm").glob("*/*.dcm"))
        files += [require_corpus("dicomweb", name) for name in WSI_JSON]
        return files

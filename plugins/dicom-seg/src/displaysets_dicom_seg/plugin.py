"""The displaysets hook implementation: the segmentation handler module.

Registered through the entry point ``dicom-seg`` in the ``displaysets`` group.
"""

from __future__ import annotations

import logging
from typing import Final

from displaysets import HandlerModule, hookimpl

from displaysets_dicom_seg.content import load_segmentation
from displaysets_dicom_seg.display_sets import make_display_sets
from displaysets_dicom_seg.export import export_segmentation

logger = logging.getLogger(__name__)

SEGMENTATION_STORAGE: Final = "1.2.840.10008.5.1.4.1.1.66.4"
LABEL_MAP_SEGMENTATION_STORAGE: Final = "1.2.840.10008.5.1.4.1.1.66.7"
VIEWPORT: Final = "seg"
HANDLER_ID: Final = "displaysets-dicom-seg.seg"

SEG_HANDLER: Final = HandlerModule(
    id=HANDLER_ID,
    sop_class_uids=(SEGMENTATION_STORAGE, LABEL_MAP_SEGMENTATION_STORAGE),
    get_display_sets_from_series=make_display_sets,
    viewport=VIEWPORT,
    load=load_segmentation,
    export=export_segmentation,
    required_attributes=(
        "SegmentationType",
        "SegmentSequence",
        "PerFrameFunctionalGroupsSequence",
    ),
    description="Segmentations (binary, fractional, label map) tied to their "
    "source images; per-segment masks on demand",
)


@hookimpl
def get_sop_class_handler_module() -> HandlerModule:
    return SEG_HANDLER

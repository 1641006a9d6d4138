"""The displaysets hook implementation: the segmentation handler module.

Registered through the entry point ``dicom-seg`` in the ``displaysets`` group.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from displaysets import HandlerModule, hookimpl

if TYPE_CHECKING:
    from displaysets import DisplaySet, Offer

logger = logging.getLogger(__name__)


# The handler's functions import their modules (and pydicom, numpy, highdicom) on
# first use, so that discovering plugins stays fast.


def make_display_sets(offer: Offer) -> Any:
    from displaysets_dicom_seg.display_sets import make_display_sets as make

    return make(offer)


def load_segmentation(display_set: DisplaySet) -> Any:
    from displaysets_dicom_seg.content import load_segmentation as load

    return load(display_set)


def export_segmentation(
    display_set: DisplaySet, destination: Path, overwrite: bool, **options: Any
) -> list[Path]:
    from displaysets_dicom_seg.export import export_segmentation as export

    return export(display_set, destination, overwrite, **options)


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

"""Hook implementations of the dicom-microscopy plugin: its two SOP class handlers."""

from __future__ import annotations

import logging
from typing import Any, Final

from displaysets import HandlerModule, hookimpl

logger = logging.getLogger(__name__)

DISTRIBUTION: Final = "displaysets-dicom-microscopy"
VIEWPORT: Final = "microscopy"
VL_WHOLE_SLIDE_MICROSCOPY_IMAGE_STORAGE: Final = "1.2.840.10008.5.1.4.1.1.77.1.6"
MICROSCOPY_BULK_SIMPLE_ANNOTATIONS_STORAGE: Final = "1.2.840.10008.5.1.4.1.1.91.1"


def _make_slides(offer: Any) -> Any:
    from displaysets_dicom_microscopy.pyramid import make_slide_display_sets

    return make_slide_display_sets(offer)


def _load_slide(display_set: Any) -> Any:
    from displaysets_dicom_microscopy.content import load_slide

    return load_slide(display_set)


def _export_slide(display_set: Any, destination: Any, overwrite: bool) -> Any:
    from displaysets_dicom_microscopy.export import export_slide

    return export_slide(display_set, destination, overwrite)


def _make_annotations(offer: Any) -> Any:
    from displaysets_dicom_microscopy.annotations import make_annotation_display_sets

    return make_annotation_display_sets(offer)


def _load_annotations(display_set: Any) -> Any:
    from displaysets_dicom_microscopy.annotations import load_annotations

    return load_annotations(display_set)


def _export_annotations(display_set: Any, destination: Any, overwrite: bool) -> Any:
    from displaysets_dicom_microscopy.annotations import export_annotations

    return export_annotations(display_set, destination, overwrite)


SLIDE_HANDLER: Final = HandlerModule(
    id=f"{DISTRIBUTION}.slide",
    sop_class_uids=(VL_WHOLE_SLIDE_MICROSCOPY_IMAGE_STORAGE,),
    get_display_sets_from_series=_make_slides,
    viewport=VIEWPORT,
    load=_load_slide,
    export=_export_slide,
    required_attributes=(
        "ImageType",
        "TotalPixelMatrixColumns",
        "TotalPixelMatrixRows",
    ),
    description="Whole slide pyramids with their label, overview and thumbnail images",
)
ANNOTATION_HANDLER: Final = HandlerModule(
    id=f"{DISTRIBUTION}.annotations",
    sop_class_uids=(MICROSCOPY_BULK_SIMPLE_ANNOTATIONS_STORAGE,),
    get_display_sets_from_series=_make_annotations,
    viewport=VIEWPORT,
    load=_load_annotations,
    export=_export_annotations,
    required_attributes=("AnnotationGroupSequence",),
    description="Microscopy bulk simple annotations, linked to their slide",
)


@hookimpl
def get_sop_class_handler_module() -> list[HandlerModule]:
    return [SLIDE_HANDLER, ANNOTATION_HANDLER]

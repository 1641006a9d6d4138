"""Display sets of segmentation instances, one per instance, from metadata only."""

from __future__ import annotations

import logging
from typing import Any

from displaysets import Claim, DisplaySet, Instance, Message, Offer, Severity

from displaysets_dicom_seg.analysis import SegmentationAnalysis, analyse_segmentation
from displaysets_dicom_seg.segments import integer, text

logger = logging.getLogger(__name__)


def analyse_instance(instance: Instance) -> SegmentationAnalysis:
    """Analyse an instance's metadata (what building and loading both need)."""
    return analyse_segmentation(
        instance.dataset,
        instance.location,
        number_of_frames=instance.number_of_frames,
        pixel_data_length=instance.bulk_data.get("PixelData"),
        has_pixel_data=instance.has_pixel_data or "PixelData" in instance.dataset,
    )


def segmentation_attributes(
    instance: Instance, analysis: SegmentationAnalysis
) -> dict[str, Any]:
    """The plugin's fields of a segmentation display set (JSON-serialisable)."""
    description = analysis.description
    dataset = instance.dataset
    attributes: dict[str, Any] = {
        "segmentationType": description.segmentation_type,
        "segmentationFractionalType": description.fractional_type,
        "maximumFractionalValue": description.maximum_fractional_value,
        "numberOfSegments": len(description.segments),
        "segments": [s.to_json() for s in description.segments],
        "FrameOfReferenceUID": analysis.references.frame_of_reference_uid or None,
        **analysis.references.to_json(),
        "framesPlacedBy": analysis.layout.placement,
        "numberOfPlanes": len(analysis.layout.planes),
        "Rows": integer(dataset, "Rows"),
        "Columns": integer(dataset, "Columns"),
        "ContentLabel": text(dataset, "ContentLabel"),
    }
    for keyword in ("TotalPixelMatrixRows", "TotalPixelMatrixColumns"):
        value = integer(dataset, keyword)
        if value is not None:
            attributes[keyword] = value
    return attributes


def _display_set(offer: Offer, instance: Instance) -> DisplaySet:
    try:
        analysis = analyse_instance(instance)
    except Exception as error:  # malformed metadata must not take the series down
        logger.warning(
            "%s: cannot read the segmentation metadata: %s",
            instance.location,
            error,
            exc_info=True,
        )
        return offer.display_set(
            [instance],
            is_derived=True,
            is_overlay=True,
            messages=[
                Message(
                    "SEGMENTATION_UNREADABLE",
                    Severity.ERROR,
                    f"{instance.location}: cannot read the segmentation metadata: "
                    f"{type(error).__name__}: {error}",
                )
            ],
        )
    for finding in analysis.findings:
        log = logger.warning if finding.severity is Severity.ERROR else logger.info
        log("%s", finding.text)
    return offer.display_set(
        [instance],
        is_derived=True,
        is_overlay=True,
        attributes=segmentation_attributes(instance, analysis),
        references=analysis.references.to_references(),
        messages=[Message(f.code, f.severity, f.text) for f in analysis.findings],
    )


def make_display_sets(offer: Offer) -> Claim:
    """One derived overlay display set per segmentation instance of the offer."""
    claim = Claim()
    for instance in offer.instances:
        claim.display_sets.append(_display_set(offer, instance))
    return claim

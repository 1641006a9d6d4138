"""Everything the metadata of one segmentation says, read once for building and loading.

Combines the segments, the frame layout and the source references, and checks the
pixel data's declared length without reading it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

from displaysets import Severity
from pydicom.dataset import Dataset
from pydicom.uid import UID

from displaysets_dicom_seg.frames import FrameLayout, describe_frames, order_planes
from displaysets_dicom_seg.references import (
    FROM_FRAME_OF_REFERENCE,
    SourceReferences,
    collect_source_references,
)
from displaysets_dicom_seg.segments import (
    Finding,
    SegmentationDescription,
    describe_segmentation,
    integer,
    text,
)

logger = logging.getLogger(__name__)

DEFAULT_TRANSFER_SYNTAX: Final = "1.2.840.10008.1.2"
"""Implicit VR Little Endian, what a file without File Meta is read as."""


@dataclass
class SegmentationAnalysis:
    """Segments, frame layout and source references of one segmentation."""

    description: SegmentationDescription
    layout: FrameLayout
    references: SourceReferences
    number_of_frames: int
    findings: list[Finding] = field(default_factory=list)


def transfer_syntax_of(dataset: Dataset) -> str:
    meta = getattr(dataset, "file_meta", None)
    uid = text(meta, "TransferSyntaxUID") if meta is not None else ""
    return uid or DEFAULT_TRANSFER_SYNTAX


def expected_native_length(dataset: Dataset, number_of_frames: int) -> int | None:
    """Bytes native (uncompressed) pixel data of these frames takes, if computable."""
    rows = integer(dataset, "Rows")
    columns = integer(dataset, "Columns")
    bits = integer(dataset, "BitsAllocated")
    samples = integer(dataset, "SamplesPerPixel") or 1
    if not rows or not columns or not bits:
        return None
    return (number_of_frames * rows * columns * samples * bits + 7) // 8


def analyse_segmentation(
    dataset: Dataset,
    location: str,
    *,
    number_of_frames: int,
    pixel_data_length: int | None = None,
    has_pixel_data: bool = True,
) -> SegmentationAnalysis:
    """Read a segmentation's metadata and note what is wrong with it.

    Parameters
    ----------
    dataset
        Metadata of the segmentation instance.
    location
        The file or URL, named in findings.
    number_of_frames
        Number of frames of the pixel data.
    pixel_data_length
        Byte length of Pixel Data when known (checked for native transfer syntaxes).
    has_pixel_data
        Whether the instance has a Pixel Data element at all.
    """
    description = describe_segmentation(dataset, location)
    labelmap = description.segmentation_type == "LABELMAP"
    layout = describe_frames(
        dataset,
        location,
        number_of_frames=number_of_frames,
        declared_segments=None if labelmap else set(description.segment_numbers),
    )
    references = collect_source_references(dataset, layout.frames)
    if references.instances:
        # Order planes without positions as the source images are referenced.
        order_planes(layout, references.instance_order)
    findings = list(description.findings) + list(layout.findings)

    def note(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code, severity, f"{location}: {message}"))

    if references.found_in in (None, FROM_FRAME_OF_REFERENCE):
        fallback = (
            f"only its Frame of Reference UID {references.frame_of_reference_uid} "
            "can tie it to images"
            if references.found_in
            else "nothing ties it to images"
        )
        note(
            "NO_SOURCE_REFERENCES",
            Severity.WARNING,
            "names no source images (no Referenced Series Sequence, no Source Image "
            f"Sequence, no Derivation Image Sequence); {fallback}",
        )
    if not has_pixel_data:
        note("PIXEL_DATA_MISSING", Severity.ERROR, "has no Pixel Data")
    elif pixel_data_length is not None:
        transfer_syntax = UID(transfer_syntax_of(dataset))
        native = (
            transfer_syntax.is_transfer_syntax and not transfer_syntax.is_encapsulated
        )
        expected = expected_native_length(dataset, number_of_frames)
        if native and expected is not None and pixel_data_length < expected:
            note(
                "PIXEL_DATA_TOO_SHORT",
                Severity.ERROR,
                f"Pixel Data holds {pixel_data_length} bytes; {number_of_frames} "
                f"frame(s) need {expected}",
            )
    return SegmentationAnalysis(
        description, layout, references, number_of_frames, findings
    )

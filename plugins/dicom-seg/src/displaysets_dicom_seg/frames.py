"""Where each segmentation frame belongs, from the functional groups alone.

Every frame's functional groups are read per frame first, then from the shared groups.
A frame is placed by the source image (and frame) it was derived from, else by its
position (patient or slide coordinates), else by its dimension index values; never by
its frame number. Frames that share a place become one *plane* of the masks.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from displaysets import Severity
from displaysets.model import finite_numbers
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from displaysets_dicom_seg.segments import Finding, integer, sequence, text, value_of

logger = logging.getLogger(__name__)

REFERENCED_SEGMENT_NUMBER: Final = Tag("ReferencedSegmentNumber")

PLACED_BY_SOURCE: Final = "source image"
PLACED_BY_POSITION: Final = "ImagePositionPatient"
PLACED_BY_SLIDE_POSITION: Final = "position in the total pixel matrix"
PLACED_BY_DIMENSION_INDEX: Final = "DimensionIndexValues"
PLACEMENTS: Final = (
    PLACED_BY_SOURCE,
    PLACED_BY_POSITION,
    PLACED_BY_SLIDE_POSITION,
    PLACED_BY_DIMENSION_INDEX,
)
"""How frames can be placed, best first."""

POSITION_DECIMALS: Final = 3
"""Positions equal to this many decimals (µm for patient mm) are one place."""


@dataclass(frozen=True)
class SourceFrame:
    """A Source Image Sequence item: the image (and frames) a frame derives from."""

    sop_instance_uid: str
    sop_class_uid: str = ""
    frame_numbers: tuple[int, ...] = ()
    spatial_locations_preserved: str = ""


@dataclass
class FrameInfo:
    """What the functional groups say about one frame (``number`` is 1-based)."""

    number: int
    segment_number: int | None = None
    sources: tuple[SourceFrame, ...] = ()
    image_position: tuple[float, float, float] | None = None
    image_orientation: tuple[float, ...] | None = None
    slide_position: tuple[int, int] | None = None
    slide_offset: tuple[float, float, float] | None = None
    dimension_index_values: tuple[int, ...] = ()

    def key(self, placement: str) -> tuple[Any, ...] | None:
        """The place of this frame under ``placement``, ``None`` when it has none."""
        if placement == PLACED_BY_SOURCE:
            if not self.sources:
                return None
            source = self.sources[0]
            frame = source.frame_numbers[0] if source.frame_numbers else 0
            return (source.sop_instance_uid, frame)
        if placement == PLACED_BY_POSITION:
            if self.image_position is None:
                return None
            return tuple(round(v, POSITION_DECIMALS) + 0.0 for v in self.image_position)
        if placement == PLACED_BY_SLIDE_POSITION:
            if self.slide_position is None:
                return None
            z = (
                round(self.slide_offset[2], POSITION_DECIMALS)
                if self.slide_offset
                else 0
            )
            return (z, *self.slide_position)
        if placement == PLACED_BY_DIMENSION_INDEX:
            return self.dimension_index_values or None
        raise ValueError(f"unknown placement {placement!r}")


@dataclass(frozen=True)
class Plane:
    """One place of the masks: a source image frame, or a position."""

    key: tuple[Any, ...]
    source_sop_instance_uid: str = ""
    source_frame_number: int = 0
    image_position: tuple[float, float, float] | None = None
    slide_position: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ReferencedSOPInstanceUID": self.source_sop_instance_uid or None,
            "ReferencedFrameNumber": self.source_frame_number or None,
            "ImagePositionPatient": (
                list(self.image_position) if self.image_position else None
            ),
            "TotalPixelMatrixPosition": (
                list(self.slide_position) if self.slide_position else None
            ),
        }


@dataclass
class FrameLayout:
    """Every frame, how they are placed, and the planes they make."""

    frames: list[FrameInfo]
    placement: str | None
    planes: list[Plane]
    plane_of_frame: dict[int, int]
    """Frame number -> index into :attr:`planes`, for every placed frame."""
    findings: list[Finding] = field(default_factory=list)
    plane_key_of_frame: dict[int, tuple[Any, ...]] = field(default_factory=dict)


def _group(
    per_frame: Dataset | None, shared: Dataset | None, keyword: str
) -> Dataset | None:
    """The first item of a functional group macro, per frame first, then shared."""
    for groups in (per_frame, shared):
        items = sequence(groups, keyword)
        if items:
            return items[0]
    return None


def _source_item(item: Dataset) -> SourceFrame | None:
    uid = text(item, "ReferencedSOPInstanceUID")
    if not uid:
        return None
    numbers: tuple[int, ...] = ()
    value = value_of(item, "ReferencedFrameNumber")
    if value is not None:
        try:
            many = (
                isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue"
            )
            numbers = tuple(int(v) for v in (value if many else [value]))
        except (TypeError, ValueError):
            numbers = ()
    return SourceFrame(
        uid,
        text(item, "ReferencedSOPClassUID"),
        tuple(n for n in numbers if n > 0),
        text(item, "SpatialLocationsPreserved").upper(),
    )


def source_frames_of(groups: Dataset | None) -> tuple[SourceFrame, ...]:
    """Source Image Sequence items of one functional groups item.

    They sit inside the Derivation Image Sequence (the Derivation Image functional
    group); a Source Image Sequence directly in the item is accepted too.
    """
    if groups is None:
        return ()
    items: list[Dataset] = []
    for derivation in sequence(groups, "DerivationImageSequence"):
        items.extend(sequence(derivation, "SourceImageSequence"))
    items.extend(sequence(groups, "SourceImageSequence"))
    found = (_source_item(i) for i in items)
    return tuple(s for s in found if s is not None)


def _frame_info(
    number: int, per_frame: Dataset | None, shared: Dataset | None, segment_dims: int
) -> FrameInfo:
    info = FrameInfo(number)
    identification = _group(per_frame, shared, "SegmentIdentificationSequence")
    if identification is not None:
        info.segment_number = integer(identification, "ReferencedSegmentNumber")
    info.sources = source_frames_of(per_frame) or source_frames_of(shared)
    plane = _group(per_frame, shared, "PlanePositionSequence")
    if plane is not None:
        position = finite_numbers(value_of(plane, "ImagePositionPatient"), 3)
        if position is not None:
            info.image_position = (position[0], position[1], position[2])
    orientation = _group(per_frame, shared, "PlaneOrientationSequence")
    if orientation is not None:
        info.image_orientation = finite_numbers(
            value_of(orientation, "ImageOrientationPatient"), 6
        )
    slide = _group(per_frame, shared, "PlanePositionSlideSequence")
    if slide is not None:
        row = integer(slide, "RowPositionInTotalImagePixelMatrix")
        column = integer(slide, "ColumnPositionInTotalImagePixelMatrix")
        if row is not None and column is not None:
            info.slide_position = (row, column)
        offsets = [
            value_of(slide, k)
            for k in (
                "XOffsetInSlideCoordinateSystem",
                "YOffsetInSlideCoordinateSystem",
                "ZOffsetInSlideCoordinateSystem",
            )
        ]
        values = (
            finite_numbers(offsets, 3) if all(v is not None for v in offsets) else None
        )
        if values is not None:
            info.slide_offset = (values[0], values[1], values[2])
    content = _group(per_frame, None, "FrameContentSequence")
    if content is not None:
        value = value_of(content, "DimensionIndexValues")
        if value is not None:
            try:
                many = (
                    isinstance(value, (list, tuple))
                    or type(value).__name__ == "MultiValue"
                )
                values_list = [int(v) for v in (value if many else [value])]
                if 0 <= segment_dims < len(values_list):
                    del values_list[segment_dims]
                info.dimension_index_values = tuple(values_list)
            except (TypeError, ValueError):
                pass
    return info


def _segment_dimension(dataset: Dataset) -> int:
    """Index of Referenced Segment Number among the dimensions, -1 when absent."""
    for index, item in enumerate(sequence(dataset, "DimensionIndexSequence")):
        try:
            pointer = value_of(item, "DimensionIndexPointer")
            if pointer is not None and Tag(pointer) == REFERENCED_SEGMENT_NUMBER:
                return index
        except (TypeError, ValueError):
            continue
    return -1


def _normal(orientation: Sequence[float]) -> tuple[float, float, float]:
    r, c = orientation[:3], orientation[3:]
    return (
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    )


def _sort_planes(
    planes: list[Plane], placement: str, frames: list[FrameInfo], order: Sequence[str]
) -> list[Plane]:
    orientation = next(
        (f.image_orientation for f in frames if f.image_orientation is not None), None
    )
    if orientation is not None and all(p.image_position is not None for p in planes):
        normal = _normal(orientation)
        return sorted(
            planes,
            key=lambda p: (
                sum(
                    a * b
                    for a, b in zip(
                        p.image_position or (0.0, 0.0, 0.0), normal, strict=True
                    )
                ),
                p.key,
            ),
        )
    if placement == PLACED_BY_SOURCE:
        rank = {uid: index for index, uid in enumerate(order)}
        return sorted(
            planes,
            key=lambda p: (
                rank.get(p.source_sop_instance_uid, len(rank)),
                p.source_sop_instance_uid,
                p.source_frame_number,
            ),
        )
    return sorted(planes, key=lambda p: p.key)


def describe_frames(
    dataset: Dataset,
    location: str,
    *,
    number_of_frames: int,
    declared_segments: Collection[int] | None = None,
    source_order: Sequence[str] = (),
) -> FrameLayout:
    """Read every frame's functional groups and place the frames.

    Parameters
    ----------
    dataset
        The segmentation's metadata (pixel data not needed).
    location
        The file or URL, named in findings.
    number_of_frames
        How many frames the pixel data holds.
    declared_segments
        The Segment Numbers the Segment Sequence declares; frames of other segments
        are left out. ``None`` for a LABELMAP segmentation, whose frames hold all
        segments at once.
    source_order
        SOP Instance UIDs of the source images in their referenced order, to order
        planes that have no position.
    """
    findings: list[Finding] = []

    def note(code: str, severity: Severity, message: str) -> None:
        findings.append(Finding(code, severity, f"{location}: {message}"))

    shared_items = sequence(dataset, "SharedFunctionalGroupsSequence")
    shared = shared_items[0] if shared_items else None
    per_frame = sequence(dataset, "PerFrameFunctionalGroupsSequence")
    if per_frame and len(per_frame) != number_of_frames:
        note(
            "FRAME_COUNT_MISMATCH",
            Severity.WARNING,
            f"the Per-Frame Functional Groups Sequence has {len(per_frame)} items "
            f"for {number_of_frames} frame(s) of pixel data; frames are matched to "
            "the items in order and the extra ones are ignored",
        )
    if not per_frame and number_of_frames > 1:
        note(
            "NO_PER_FRAME_FUNCTIONAL_GROUPS",
            Severity.WARNING,
            f"no Per-Frame Functional Groups Sequence: all {number_of_frames} "
            "frames share the shared functional groups, so they cannot be told apart",
        )
    segment_dims = _segment_dimension(dataset)
    frames = [
        _frame_info(
            number,
            per_frame[number - 1] if number <= len(per_frame) else None,
            shared,
            segment_dims,
        )
        for number in range(1, number_of_frames + 1)
    ]

    placement = None
    best = 0
    for candidate in PLACEMENTS:
        placed = sum(1 for f in frames if f.key(candidate) is not None)
        if placed > best:
            placement, best = candidate, placed
        if placed == len(frames):
            break
    if frames and placement is None:
        note(
            "FRAMES_NOT_PLACEABLE",
            Severity.ERROR,
            "no frame names a source image, a position or dimension index values; "
            "masks cannot be aligned to source images",
        )
    elif best < len(frames):
        unplaced = [f.number for f in frames if f.key(placement or "") is None]
        note(
            "FRAMES_NOT_PLACEABLE",
            Severity.WARNING,
            f"{len(unplaced)} frame(s) (first: {unplaced[0]}) have no {placement}, "
            "which the other frames are placed by; they are left out of the masks",
        )

    labelmap = declared_segments is None
    if not labelmap:
        without = [f.number for f in frames if f.segment_number is None]
        undeclared = sorted(
            {
                f.segment_number
                for f in frames
                if f.segment_number is not None
                and f.segment_number not in declared_segments  # type: ignore[operator]
            }
        )
        if without:
            note(
                "FRAME_SEGMENT_MISSING",
                Severity.ERROR,
                f"{len(without)} frame(s) (first: {without[0]}) name no Referenced "
                "Segment Number in the Segment Identification Sequence; they are "
                "left out of the masks",
            )
        if undeclared:
            frames_of = [f.number for f in frames if f.segment_number in undeclared]
            note(
                "FRAME_SEGMENT_UNDECLARED",
                Severity.ERROR,
                f"{len(frames_of)} frame(s) (first: {frames_of[0]}) belong to "
                f"segment(s) {', '.join(str(n) for n in undeclared[:10])}, which the "
                "Segment Sequence does not declare; they are left out of the masks",
            )

    planes_by_key: dict[tuple[Any, ...], Plane] = {}
    plane_key_of_frame: dict[int, tuple[Any, ...]] = {}
    seen: dict[tuple[Any, ...], int] = {}
    duplicates: list[int] = []
    for frame in frames:
        key = frame.key(placement) if placement else None
        if key is None:
            continue
        if not labelmap and frame.segment_number not in declared_segments:  # type: ignore[operator]
            continue
        slot = (key, None if labelmap else frame.segment_number)
        if slot in seen:
            duplicates.append(frame.number)
            continue
        seen[slot] = frame.number
        plane_key_of_frame[frame.number] = key
        if key not in planes_by_key:
            source = frame.sources[0] if frame.sources else None
            planes_by_key[key] = Plane(
                key=key,
                source_sop_instance_uid=source.sop_instance_uid if source else "",
                source_frame_number=(
                    source.frame_numbers[0] if source and source.frame_numbers else 0
                ),
                image_position=frame.image_position,
                slide_position=frame.slide_position,
            )
    if duplicates:
        note(
            "FRAMES_DUPLICATED",
            Severity.WARNING,
            f"{len(duplicates)} frame(s) (first: {duplicates[0]}) repeat the place "
            f"and segment of an earlier frame; the earlier frame is used",
        )
    layout = FrameLayout(frames, placement, list(planes_by_key.values()), {}, findings)
    layout.plane_key_of_frame = plane_key_of_frame
    return order_planes(layout, source_order)


def order_planes(layout: FrameLayout, source_order: Sequence[str] = ()) -> FrameLayout:
    """Sort the planes (along the slice normal, else by ``source_order``) in place.

    Parameters
    ----------
    layout
        A layout from :func:`describe_frames`.
    source_order
        SOP Instance UIDs of the source images in their referenced order, for planes
        without positions.
    """
    layout.planes = _sort_planes(
        layout.planes, layout.placement or "", layout.frames, source_order
    )
    index = {plane.key: i for i, plane in enumerate(layout.planes)}
    layout.plane_of_frame = {n: index[k] for n, k in layout.plane_key_of_frame.items()}
    return layout

"""The default image handler: image storage SOP classes no plugin claims.

A series of single-frame images becomes one stack sorted by position along the slice
normal, then Instance Number, then SOP Instance UID. A series that mixes orientations
(localizers among axial slices) or image sizes is split by them, and one whose images
repeat positions (multi-echo, multi-phase) by the attribute that tells the stacks
apart; each split is said in a message. Each
multi-frame instance is its own display set, and CR, DX, MG and IO images are one
display set per image. Every display set says whether it is reconstructable as a
volume and, when not, why. Instances without pixel data are declined.
"""

from __future__ import annotations

import itertools
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from displaysets.errors import ContentError, DestinationExists, ExportError
from displaysets.exporting import replacing
from displaysets.handlers import Claim, HandlerModule, Offer
from displaysets.hookspecs import hookimpl
from displaysets.model import Instance, finite_numbers, value_of
from displaysets.records import DisplaySet, Severity
from displaysets.sop_classes import IMAGE_STORAGE, PROJECTION_RADIOGRAPHY

logger = logging.getLogger(__name__)

VIEWPORT: Final = "stack"
ORIENTATION_TOLERANCE: Final = 1e-3
"""Direction cosines closer than this are the same orientation."""
SPACING_TOLERANCE: Final = 0.01
"""Relative deviation of a slice gap from the median gap still counted as regular."""

Vector = tuple[float, float, float]


def _first_item(dataset: Any, *path: str) -> Any:
    node = dataset
    for keyword in path:
        sequence = value_of(node, keyword)
        if not sequence:
            return None
        node = sequence[0]
    return node


def orientation_of(instance: Instance) -> tuple[float, ...] | None:
    """ImageOrientationPatient of a single-frame image (or of the shared groups)."""
    dataset = instance.dataset
    value = value_of(dataset, "ImageOrientationPatient")
    if value is None:
        item = _first_item(
            dataset, "SharedFunctionalGroupsSequence", "PlaneOrientationSequence"
        )
        value = value_of(item, "ImageOrientationPatient")
    return finite_numbers(value, 6) if value is not None else None


def position_of(instance: Instance) -> tuple[float, ...] | None:
    value = value_of(instance.dataset, "ImagePositionPatient")
    return finite_numbers(value, 3) if value is not None else None


def _normal(orientation: Sequence[float]) -> Vector:
    r = orientation[:3]
    c = orientation[3:]
    return (
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    )


def _along(position: Sequence[float], normal: Vector) -> float:
    """Distance of a position along the slice normal."""
    return sum(p * n for p, n in zip(position, normal, strict=True))


def _same_orientation(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(abs(x - y) <= ORIENTATION_TOLERANCE for x, y in zip(a, b, strict=False))


def _describe_orientation(orientation: Sequence[float] | None) -> str:
    if orientation is None:
        return "no orientation"
    normal = _normal(orientation)
    axis = max(range(3), key=lambda i: abs(normal[i]))
    return ("sagittal", "coronal", "axial")[axis]


@dataclass
class StackGeometry:
    """Sort order and reconstructability of one stack of single-frame images."""

    instances: list[Instance]
    issues: list[str]
    spacing: float | None


def sort_stack(instances: Sequence[Instance]) -> StackGeometry:
    """Sort a same-orientation stack along its normal and judge reconstructability."""
    issues: list[str] = []
    orientation = orientation_of(instances[0]) if instances else None
    positions = [position_of(i) for i in instances]
    if orientation is None or any(p is None for p in positions):
        ordered = sorted(
            instances,
            key=lambda i: (
                i.instance_number is None,
                i.instance_number or 0,
                i.sop_instance_uid,
            ),
        )
        if len(instances) > 1:
            issues.append("images lack ImagePositionPatient or ImageOrientationPatient")
        return StackGeometry(ordered, issues, None)

    normal = _normal(orientation)
    distance = {
        id(i): _along(pos, normal)  # type: ignore[arg-type]
        for i, pos in zip(instances, positions, strict=True)
    }
    ordered = sorted(
        instances,
        key=lambda i: (distance[id(i)], i.instance_number or 0, i.sop_instance_uid),
    )
    sizes = {
        (value_of(i.dataset, "Rows"), value_of(i.dataset, "Columns")) for i in instances
    }
    if len(sizes) > 1:
        issues.append(f"images differ in size ({len(sizes)} different Rows x Columns)")
    gaps = [distance[id(b)] - distance[id(a)] for a, b in itertools.pairwise(ordered)]
    spacing = None
    if gaps:
        if any(abs(g) < 1e-6 for g in gaps):
            issues.append("several images share one position")
        positive = sorted(g for g in gaps if g > 1e-6)
        if positive:
            spacing = positive[len(positive) // 2]
            tolerance = max(spacing * SPACING_TOLERANCE, 1e-3)
            if any(abs(g - spacing) > tolerance for g in positive):
                multiple = [g for g in positive if g > spacing + tolerance]
                if multiple and all(
                    abs(g / spacing - round(g / spacing)) * spacing <= tolerance
                    for g in multiple
                ):
                    missing = sum(round(g / spacing) - 1 for g in multiple)
                    issues.append(f"{missing} slice(s) missing from a regular stack")
                else:
                    issues.append(
                        f"irregular slice spacing ({positive[0]:.3g} to "
                        f"{positive[-1]:.3g} mm)"
                    )
    return StackGeometry(ordered, issues, spacing)


def _multiframe_issues(instance: Instance) -> list[str]:
    """Reconstructability of one multi-frame instance from its functional groups."""
    dataset = instance.dataset
    frames = instance.number_of_frames
    if frames < 2:
        return ["single frame"]
    per_frame = value_of(dataset, "PerFrameFunctionalGroupsSequence")
    if not per_frame:
        if (
            value_of(dataset, "SliceThickness") is None
            and value_of(dataset, "SpacingBetweenSlices") is None
        ):
            return ["frames carry no plane position"]
        return []
    positions = []
    for item in per_frame:
        plane = _first_item(item, "PlanePositionSequence")
        value = value_of(plane, "ImagePositionPatient")
        positions.append(finite_numbers(value, 3) if value is not None else None)
    if any(p is None for p in positions):
        return ["some frames lack a plane position"]
    orientation = orientation_of(instance)
    if orientation is None:
        return ["frames carry no plane orientation"]
    normal = _normal(orientation)
    distances = sorted(_along(pos, normal) for pos in positions)  # type: ignore[arg-type]
    gaps = [b - a for a, b in itertools.pairwise(distances)]
    positive = [g for g in gaps if g > 1e-6]
    if not positive:
        return ["frames share one position (a time or other non-spatial series)"]
    spacing = sorted(positive)[len(positive) // 2]
    tolerance = max(spacing * SPACING_TOLERANCE, 1e-3)
    if len(positive) != len(gaps) or any(
        abs(g - spacing) > tolerance for g in positive
    ):
        return ["frame positions are not evenly spaced"]
    return []


def _image_display_set(
    offer: Offer,
    instances: list[Instance],
    issues: list[str],
    *,
    discriminator: str = "",
) -> DisplaySet:
    multi_frame = len(instances) == 1 and instances[0].number_of_frames > 1
    attributes: dict[str, Any] = {
        "isMultiFrame": multi_frame,
        "isReconstructable": not issues,
        "reconstructionIssues": list(issues),
    }
    display_set = offer.display_set(
        instances, discriminator=discriminator, attributes=attributes
    )
    return display_set


def get_image_display_sets(offer: Offer) -> Claim:
    """Stacks, multi-frame and per-image display sets for one SOP class group."""
    claim = Claim()
    with_pixels = [i for i in offer.instances if i.has_pixel_data]
    claim.decline(
        [i for i in offer.instances if not i.has_pixel_data],
        "no pixel data: not an image",
    )
    single = [i for i in with_pixels if i.number_of_frames <= 1]
    multi = [i for i in with_pixels if i.number_of_frames > 1]

    if offer.sop_class_uid in PROJECTION_RADIOGRAPHY:
        for instance in single + multi:
            claim.display_sets.append(
                _image_display_set(offer, [instance], ["projection image"])
            )
        return claim

    for instance in multi:
        claim.display_sets.append(
            _image_display_set(offer, [instance], _multiframe_issues(instance))
        )

    orientations: list[tuple[tuple[float, ...] | None, list[Instance]]] = []
    for instance in single:
        orientation = orientation_of(instance)
        for known, members in orientations:
            if (known is None and orientation is None) or (
                known is not None
                and orientation is not None
                and _same_orientation(known, orientation)
            ):
                members.append(instance)
                break
        else:
            orientations.append((orientation, [instance]))
    orientations.sort(key=lambda group: -len(group[1]))
    series_uid = offer.series.series_instance_uid
    for number, (orientation, members) in enumerate(orientations, 1):
        parts: list[str] = []
        notes: list[tuple[str, str]] = []
        if len(orientations) > 1:
            parts.append(f"orientation {number}")
            notes.append(
                (
                    "SPLIT_BY_ORIENTATION",
                    f"series {series_uid} mixes {len(orientations)} image "
                    f"orientations; this display set holds the {len(members)} "
                    f"{_describe_orientation(orientation)} image(s)",
                )
            )
        for stack, stack_parts, stack_notes in split_stack(members, series_uid):
            geometry = sort_stack(stack)
            issues = list(geometry.issues)
            if len(stack) == 1:
                issues.insert(0, "single image")
            display_set = _image_display_set(
                offer,
                geometry.instances,
                issues,
                discriminator=", ".join(parts + stack_parts),
            )
            if geometry.spacing is not None:
                display_set.attributes["sliceSpacing"] = round(geometry.spacing, 6)
            for code, text in notes + stack_notes:
                display_set.add_message(code, Severity.INFO, text)
            claim.display_sets.append(display_set)
    return claim


SPLIT_KEYWORDS: Final = (
    "EchoNumbers",
    "TemporalPositionIdentifier",
    "AcquisitionNumber",
    "TriggerTime",
)
"""Attributes that tell apart the stacks of a series whose images repeat positions
(multi-echo, multi-phase, repeated acquisitions), tried in this order."""


def _sortable(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _positions_unique(instances: Sequence[Instance]) -> bool:
    positions = [position_of(i) for i in instances]
    if any(p is None for p in positions):
        return False
    rounded = {tuple(round(v, 3) for v in p) for p in positions}  # type: ignore[union-attr]
    return len(rounded) == len(positions)


def split_stack(
    members: list[Instance], series_uid: str
) -> list[tuple[list[Instance], list[str], list[tuple[str, str]]]]:
    """Split a same-orientation group by image size, then, when images repeat
    positions, by the first attribute that makes every part a proper stack.

    Returns ``(instances, discriminator parts, (code, text) notes)`` per stack.
    """
    by_size: dict[tuple[object, object], list[Instance]] = {}
    for instance in members:
        size = (
            value_of(instance.dataset, "Rows"),
            value_of(instance.dataset, "Columns"),
        )
        by_size.setdefault(size, []).append(instance)
    sized: list[tuple[list[Instance], list[str], list[tuple[str, str]]]] = []
    for (rows, columns), group in by_size.items():
        if len(by_size) == 1:
            sized.append((group, [], []))
            continue
        sized.append(
            (
                group,
                [f"size {rows}x{columns}"],
                [
                    (
                        "SPLIT_BY_SIZE",
                        f"series {series_uid} mixes {len(by_size)} image sizes; this "
                        f"display set holds the {len(group)} image(s) of "
                        f"{rows} x {columns}",
                    )
                ],
            )
        )

    result = []
    for group, parts, notes in sized:
        if (
            len(group) < 2
            or _positions_unique(group)
            or any(position_of(i) is None for i in group)
        ):
            result.append((group, parts, notes))
            continue
        for keyword in SPLIT_KEYWORDS:
            by_value: dict[str, list[Instance]] = {}
            for instance in group:
                value = value_of(instance.dataset, keyword)
                by_value.setdefault("" if value is None else str(value), []).append(
                    instance
                )
            if len(by_value) > 1 and all(
                _positions_unique(part) for part in by_value.values()
            ):
                for value in sorted(by_value, key=_sortable):
                    part = by_value[value]
                    result.append(
                        (
                            part,
                            [*parts, f"{keyword} {value}"],
                            [
                                *notes,
                                (
                                    f"SPLIT_BY_{_snake(keyword)}",
                                    f"series {series_uid} repeats image positions; "
                                    f"split by {keyword}: this display set holds "
                                    f"the {len(part)} image(s) with {keyword} "
                                    f"{value or '(none)'}",
                                ),
                            ],
                        )
                    )
                break
        else:
            result.append((group, parts, notes))
    return result


def _snake(keyword: str) -> str:
    """``EchoNumbers`` -> ``ECHO_NUMBERS``."""
    out = ""
    for index, char in enumerate(keyword):
        if char.isupper() and index:
            out += "_"
        out += char.upper()
    return out


@dataclass
class ImageStack:
    """The content of an image display set: its instances in display order.

    Pixel data is decoded only when :meth:`pixel_array` is called (it needs numpy and,
    for compressed transfer syntaxes, a pydicom pixel data plugin).
    """

    display_set: DisplaySet

    @property
    def instances(self) -> tuple[Instance, ...]:
        return self.display_set.instances

    def dataset(self, index: int) -> Any:
        return self.instances[index].open_dataset()

    def pixel_array(self, index: int) -> Any:
        try:
            return self.dataset(index).pixel_array
        except Exception as error:
            raise ContentError(
                f"{self.instances[index].location}: cannot decode pixel data: {error}"
            ) from error


def load_image_stack(display_set: DisplaySet) -> ImageStack:
    return ImageStack(display_set)


def export_image_files(
    display_set: DisplaySet, destination: Path, overwrite: bool
) -> list[Path]:
    """Copy the display set's instances, in display order, into a folder."""
    if destination.exists() and not destination.is_dir():
        raise ExportError(f"{destination}: an image display set exports to a folder")
    destination.mkdir(parents=True, exist_ok=True)
    targets = [
        destination / f"{n:05d}.dcm" for n in range(1, display_set.num_instances + 1)
    ]
    for target in targets:
        if target.exists() and not overwrite:
            raise DestinationExists(target)
    for instance, target in zip(display_set.instances, targets, strict=True):
        location = Path(instance.location)
        with replacing(target) as temporary:
            if location.is_file():
                shutil.copyfile(location, temporary)
            else:
                instance.open_dataset().save_as(temporary, enforce_file_format=False)
    return targets


IMAGE_HANDLER: Final = HandlerModule(
    id="displaysets.images",
    sop_class_uids=IMAGE_STORAGE,
    get_display_sets_from_series=get_image_display_sets,
    viewport=VIEWPORT,
    load=load_image_stack,
    export=export_image_files,
    description="Image stacks, multi-frame and projection images",
)


@hookimpl
def get_sop_class_handler_module() -> HandlerModule:
    return IMAGE_HANDLER

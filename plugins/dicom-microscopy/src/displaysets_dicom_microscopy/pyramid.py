"""Whole slide display sets: one per slide pyramid, built from metadata alone.

The VOLUME images of a series are grouped into pyramid levels by total pixel matrix
size (the instances of one level may hold different focal planes, optical paths or
parts of a concatenation) and ordered from the highest resolution down. LABEL, OVERVIEW
and THUMBNAIL images are attached to the slide as associated images. A series holding
several pyramids (distinct Pyramid UIDs) gives one display set per pyramid.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from displaysets import Claim, DisplaySet, Instance, Offer, Severity

from displaysets_dicom_microscopy import attributes as attr
from displaysets_dicom_microscopy.metadata import (
    TILED_FULL,
    TILED_SPARSE,
    WsiImage,
    optical_path_record,
    read_image_metadata,
    specimen_records,
)

logger = logging.getLogger(__name__)

THUMBNAIL_PREFERENCE: Final = ("THUMBNAIL", "VOLUME", "OVERVIEW", "LABEL")
"""Where the study browser's thumbnail comes from, in order of preference."""


@dataclass
class Concatenation:
    """The instances of one concatenation, merged into one image of a level."""

    uid: str
    parts: list[WsiImage]

    def to_json(self) -> dict[str, Any]:
        numbers = [p.in_concatenation_number for p in self.parts]
        totals = {p.in_concatenation_total_number for p in self.parts}
        return {
            "concatenationUID": self.uid,
            "sopInstanceUIDs": [p.sop_instance_uid for p in self.parts],
            "inConcatenationNumbers": numbers,
            "inConcatenationTotalNumber": totals.pop() if len(totals) == 1 else None,
            "complete": not self.problem(),
        }

    def problem(self) -> str:
        """Why the concatenation is incomplete, or an empty string."""
        totals = {p.in_concatenation_total_number for p in self.parts}
        numbers = sorted(
            p.in_concatenation_number
            for p in self.parts
            if p.in_concatenation_number is not None
        )
        if len(numbers) != len(self.parts):
            return "some parts lack InConcatenationNumber"
        if len(totals) == 1 and None not in totals:
            total = totals.pop()
            assert total is not None
            if numbers != list(range(1, total + 1)):
                return f"parts {', '.join(map(str, numbers))} of {total} are present"
            return ""
        if numbers != list(range(1, len(numbers) + 1)):
            return f"parts {', '.join(map(str, numbers))} are present"
        return ""


@dataclass
class Level:
    """One resolution of a pyramid: the VOLUME images of one total pixel matrix size."""

    images: list[WsiImage]
    index: int = 0
    downsample: float | None = 1.0
    concatenations: list[Concatenation] = field(default_factory=list)

    @property
    def first(self) -> WsiImage:
        return self.images[0]

    @property
    def size(self) -> tuple[int, int] | None:
        return self.first.size

    @property
    def number_of_frames(self) -> int:
        return sum(i.number_of_frames for i in self.images)

    @property
    def optical_paths(self) -> list[str]:
        found: list[str] = []
        for image in self.images:
            for identifier in image.optical_path_identifiers:
                if identifier not in found:
                    found.append(identifier)
        return found

    @property
    def focal_planes(self) -> int:
        """Distinct focal planes: from Z offsets where every image states them, else
        the largest TotalPixelMatrixFocalPlanes of its images."""
        offsets = [i.z_offsets for i in self.images if i.z_offsets is not None]
        if len(offsets) == len(self.images):
            union: set[float] = set().union(*offsets)
            return max(len(union), max(i.focal_planes for i in self.images))
        return max(i.focal_planes for i in self.images)

    @property
    def expected_tiles(self) -> int | None:
        """Tile positions of the full grid times focal planes and optical paths."""
        grid = self.first.tile_grid
        if grid is None:
            return None
        paths = max(len(self.optical_paths), 1)
        return grid[0] * grid[1] * self.focal_planes * paths

    @property
    def present_tiles(self) -> int | None:
        """Distinct tile positions that have a frame (TILED_SPARSE), or ``None``."""
        positions: set[tuple[int, int, float, str]] = set()
        for image in self.images:
            if image.sparse_tile_positions is None:
                return None
            positions |= image.sparse_tile_positions
        return len(positions)

    @property
    def dimension_organization_type(self) -> str:
        kinds = {i.dimension_organization_type for i in self.images}
        return TILED_SPARSE if TILED_SPARSE in kinds else TILED_FULL

    @property
    def missing_tiles(self) -> int:
        """Tile positions of a sparse level without a frame; they read as background."""
        if self.dimension_organization_type != TILED_SPARSE:
            return 0
        expected, present = self.expected_tiles, self.present_tiles
        if expected is None or present is None:
            return 0
        return max(expected - present, 0)

    def to_json(self) -> dict[str, Any]:
        first = self.first
        grid = first.tile_grid
        return {
            "level": self.index,
            "totalPixelMatrixColumns": first.total_pixel_matrix_columns,
            "totalPixelMatrixRows": first.total_pixel_matrix_rows,
            "pixelSpacing": first.pixel_spacing,
            "downsample": self.downsample,
            "tileColumns": first.columns,
            "tileRows": first.rows,
            "tileGridColumns": grid[0] if grid else None,
            "tileGridRows": grid[1] if grid else None,
            "numberOfFrames": self.number_of_frames,
            "focalPlanes": self.focal_planes,
            "opticalPaths": self.optical_paths,
            "photometricInterpretation": first.photometric_interpretation,
            "transferSyntaxUID": first.transfer_syntax_uid,
            "dimensionOrganizationType": self.dimension_organization_type,
            "missingTiles": self.missing_tiles,
            "imageType": first.image_type,
            "origin": first.origin,
            "frameOfReferenceUID": first.frame_of_reference_uid,
            "sopInstanceUIDs": [i.sop_instance_uid for i in self.images],
            "concatenations": [c.to_json() for c in self.concatenations],
        }


def associated_image_json(image: WsiImage) -> dict[str, Any]:
    """A LABEL, OVERVIEW or THUMBNAIL image as the slide record lists it."""
    return {
        "imageFlavor": image.flavor,
        "sopInstanceUID": image.sop_instance_uid,
        "totalPixelMatrixColumns": image.total_pixel_matrix_columns,
        "totalPixelMatrixRows": image.total_pixel_matrix_rows,
        "tileColumns": image.columns,
        "tileRows": image.rows,
        "numberOfFrames": image.number_of_frames,
        "photometricInterpretation": image.photometric_interpretation,
        "transferSyntaxUID": image.transfer_syntax_uid,
        "imageType": image.image_type,
    }


@dataclass
class Slide:
    """The pyramid levels and associated images that become one display set."""

    pyramid_uid: str | None
    levels: list[Level]
    associated: list[WsiImage]
    messages: list[tuple[str, Severity, str]] = field(default_factory=list)

    @property
    def images(self) -> list[WsiImage]:
        return [i for level in self.levels for i in level.images] + self.associated

    def message(self, code: str, severity: Severity, text: str) -> None:
        self.messages.append((code, severity, text))

    def thumbnail(self) -> dict[str, Any] | None:
        """THUMBNAIL image, else the smallest level, else OVERVIEW, else LABEL."""
        for flavor in THUMBNAIL_PREFERENCE:
            if flavor == "VOLUME":
                if self.levels:
                    level = self.levels[-1]
                    return {
                        "imageFlavor": "VOLUME",
                        "sopInstanceUID": level.first.sop_instance_uid,
                        "level": level.index,
                    }
                continue
            candidates = [i for i in self.associated if i.flavor == flavor]
            if candidates:
                best = max(candidates, key=_pixel_count)
                return {
                    "imageFlavor": flavor,
                    "sopInstanceUID": best.sop_instance_uid,
                    "level": None,
                }
        return None


def _pixel_count(image: WsiImage) -> int:
    size = image.size
    return size[0] * size[1] if size else 0


def _resolution_key(level: Level) -> tuple[int, float, str]:
    """Highest resolution first: most pixels, then finest spacing, then UID."""
    size = level.size
    spacing = level.first.pixel_spacing
    return (
        -(size[0] * size[1]) if size else 0,
        sum(spacing) / 2 if spacing else float("inf"),
        level.first.sop_instance_uid,
    )


def group_levels(images: Sequence[WsiImage]) -> list[Level]:
    """Group VOLUME images into levels by total pixel matrix size and order them by
    resolution; images of unknown size are each a level of their own, last."""
    by_size: dict[object, list[WsiImage]] = {}
    for image in images:
        key: object = (
            image.size if image.size is not None else ("?", image.sop_instance_uid)
        )
        by_size.setdefault(key, []).append(image)
    levels = []
    for members in by_size.values():
        members.sort(
            key=lambda i: (
                i.concatenation_uid or "",
                i.in_concatenation_number or 0,
                i.instance.instance_number or 0,
                i.sop_instance_uid,
            )
        )
        levels.append(Level(members))
    levels.sort(key=_resolution_key)
    base = levels[0].size if levels else None
    for index, level in enumerate(levels):
        level.index = index
        level.downsample = (
            round(base[0] / level.size[0], 6) if base and level.size else None
        )
        by_concatenation: dict[str, list[WsiImage]] = {}
        for image in level.images:
            if image.concatenation_uid:
                by_concatenation.setdefault(image.concatenation_uid, []).append(image)
        level.concatenations = [
            Concatenation(uid, parts) for uid, parts in by_concatenation.items()
        ]
    return levels


def _check_level(slide: Slide, level: Level) -> None:
    """Messages for what is inconsistent or assumed within one level."""
    name = f"level {level.index}"
    for field_name, label in (
        ("columns", "tile size (Columns)"),
        ("rows", "tile size (Rows)"),
        ("photometric_interpretation", "PhotometricInterpretation"),
        ("transfer_syntax_uid", "transfer syntax"),
        ("pixel_spacing", "PixelSpacing"),
    ):
        values = {repr(getattr(i, field_name)) for i in level.images}
        if len(values) > 1:
            slide.message(
                "LEVEL_INCONSISTENT",
                Severity.WARNING,
                f"{name}: its {len(level.images)} instances differ in {label}; "
                "the first instance's value is reported",
            )
    for concatenation in level.concatenations:
        problem = concatenation.problem()
        if len(concatenation.parts) > 1:
            slide.message(
                "CONCATENATION_MERGED",
                Severity.INFO,
                f"{name}: {len(concatenation.parts)} instances of concatenation "
                f"{concatenation.uid} merged into one image",
            )
        if problem:
            slide.message(
                "CONCATENATION_INCOMPLETE",
                Severity.WARNING,
                f"{name}: concatenation {concatenation.uid} is incomplete ({problem}); "
                "frames of the absent parts read as background",
            )
    others = [i for i in level.images if not i.concatenation_uid]
    if len(others) + len(level.concatenations) > 1:
        slide.message(
            "LEVEL_SPLIT",
            Severity.INFO,
            f"{name} is held by {len(level.images)} instances "
            f"({level.focal_planes} focal plane(s), "
            f"{max(len(level.optical_paths), 1)} optical path(s))",
        )
    incomplete = any(c.problem() for c in level.concatenations)
    if level.dimension_organization_type == TILED_FULL:
        expected = level.expected_tiles
        if (
            expected is not None
            and not incomplete
            and level.number_of_frames != expected
        ):
            slide.message(
                "TILED_FULL_FRAME_COUNT",
                Severity.WARNING,
                f"{name}: TILED_FULL with {level.number_of_frames} frames, but its "
                f"tile grid, focal planes and optical paths make {expected}",
            )
    elif level.missing_tiles:
        slide.message(
            "SPARSE_TILES_MISSING",
            Severity.INFO,
            f"{name}: {level.missing_tiles} of {level.expected_tiles} tile positions "
            "have no frame; they read as background",
        )


def check_slide(slide: Slide) -> None:
    """Messages for the slide as a whole: frame of reference, origin, optical paths."""
    volume = [i for level in slide.levels for i in level.images]
    if not slide.levels:
        flavors = sorted({i.flavor for i in slide.associated})
        slide.message(
            "NO_PYRAMID_LEVELS",
            Severity.WARNING,
            f"no VOLUME image; the slide holds only {', '.join(flavors)} image(s)",
        )
    frames_of_reference = sorted(
        {i.frame_of_reference_uid for i in volume if i.frame_of_reference_uid}
    )
    if len(frames_of_reference) > 1:
        slide.message(
            "FRAME_OF_REFERENCE_MISMATCH",
            Severity.WARNING,
            f"pyramid levels use {len(frames_of_reference)} frames of reference "
            f"({', '.join(frames_of_reference)}); levels are shown together as one "
            "slide regardless",
        )
    no_origin = [i for i in volume if i.origin is None]
    if no_origin:
        slide.message(
            "TOTAL_PIXEL_MATRIX_ORIGIN_MISSING",
            Severity.WARNING,
            f"{len(no_origin)} of {len(volume)} VOLUME image(s) lack "
            "TotalPixelMatrixOriginSequence; origin (0, 0) mm in slide coordinates "
            "assumed",
        )
    no_paths = [i for i in slide.images if not i.optical_path_identifiers]
    if no_paths:
        slide.message(
            "OPTICAL_PATH_MISSING",
            Severity.INFO,
            f"{len(no_paths)} image(s) have no OpticalPathSequence; one optical path "
            "without illumination or colour information assumed",
        )
    no_spacing = [
        level.index for level in slide.levels if level.first.pixel_spacing is None
    ]
    if no_spacing:
        slide.message(
            "PIXEL_SPACING_MISSING",
            Severity.WARNING,
            f"level(s) {', '.join(map(str, no_spacing))} have no pixel spacing; "
            "physical sizes are unknown",
        )
    for level in slide.levels:
        _check_level(slide, level)
    by_concatenation: dict[str, list[WsiImage]] = {}
    for image in slide.associated:
        if image.concatenation_uid:
            by_concatenation.setdefault(image.concatenation_uid, []).append(image)
    for uid, parts in by_concatenation.items():
        problem = Concatenation(uid, parts).problem()
        if problem:
            slide.message(
                "CONCATENATION_INCOMPLETE",
                Severity.WARNING,
                f"{parts[0].flavor} image {parts[0].sop_instance_uid} belongs to "
                f"concatenation {uid}, which is incomplete ({problem})",
            )


def _split_pyramids(
    images: Sequence[WsiImage],
) -> list[tuple[str | None, list[WsiImage]]]:
    """VOLUME images by Pyramid UID, in order of first appearance; a series whose
    images name no Pyramid UID (or only one) is one pyramid."""
    by_pyramid: dict[str | None, list[WsiImage]] = {}
    for image in images:
        if image.flavor == "VOLUME":
            by_pyramid.setdefault(image.pyramid_uid, []).append(image)
    named = [k for k in by_pyramid if k is not None]
    if len(named) <= 1:
        volume = [i for i in images if i.flavor == "VOLUME"]
        return [(named[0] if named else None, volume)]
    return sorted(by_pyramid.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))


def build_slides(images: Sequence[WsiImage]) -> list[Slide]:
    """Group one series' whole slide images into slides (one per pyramid)."""
    pyramids = _split_pyramids(images)
    slides = [Slide(uid, group_levels(volume), []) for uid, volume in pyramids]
    by_uid = {s.pyramid_uid: s for s in slides}
    for image in images:
        if image.flavor == "VOLUME":
            continue
        target = by_uid.get(image.pyramid_uid) if image.pyramid_uid else None
        (target or slides[0]).associated.append(image)
    for slide in slides:
        slide.associated.sort(
            key=lambda i: (
                i.flavor,
                i.instance.instance_number or 0,
                i.sop_instance_uid,
            )
        )
        if len(slides) > 1:
            slide.message(
                "MULTIPLE_PYRAMIDS",
                Severity.INFO,
                f"the series holds {len(slides)} pyramids (Pyramid UIDs); this display "
                f"set shows pyramid {slide.pyramid_uid or '(no Pyramid UID)'}",
            )
        check_slide(slide)
    return slides


def _optical_paths(instances: Iterable[Instance]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for instance in instances:
        for item in attr.items(instance.dataset, "OpticalPathSequence"):
            record = optical_path_record(item)
            found.setdefault(record["identifier"], record)
    return list(found.values())


def slide_attributes(slide: Slide) -> dict[str, Any]:
    """The plugin-specific fields of a slide display set's record."""
    instances = [i.instance for i in slide.images]
    reference = slide.levels[0].first if slide.levels else slide.associated[0]
    dataset = reference.instance.dataset
    origin = reference.origin if slide.levels else None
    return {
        "pyramidUID": slide.pyramid_uid,
        "pyramidLabel": attr.text(dataset, "PyramidLabel"),
        "pyramidDescription": attr.text(dataset, "PyramidDescription"),
        "frameOfReferenceUID": reference.frame_of_reference_uid,
        "containerIdentifier": attr.text(dataset, "ContainerIdentifier"),
        "specimens": specimen_records(dataset),
        "imageOrientationSlide": attr.numbers(dataset, "ImageOrientationSlide", 6),
        "totalPixelMatrixOrigin": origin
        if origin is not None
        else ([0.0, 0.0] if slide.levels else None),
        "opticalPaths": _optical_paths(instances),
        "levels": [level.to_json() for level in slide.levels],
        "associatedImages": [associated_image_json(i) for i in slide.associated],
        "thumbnail": slide.thumbnail(),
    }


def make_slide_display_sets(offer: Offer) -> Claim:
    """One display set per slide pyramid of the offered series; every instance is
    claimed (pyramid levels and LABEL, OVERVIEW and THUMBNAIL images)."""
    claim = Claim()
    images = [read_image_metadata(i) for i in offer.instances]
    slides = build_slides(images)
    for slide in slides:
        covered = [i.instance for i in slide.images]
        display_set: DisplaySet = offer.display_set(
            covered,
            discriminator=f"pyramid {slide.pyramid_uid}" if len(slides) > 1 else "",
            attributes=slide_attributes(slide),
            num_frames=sum(i.number_of_frames for i in slide.images),
        )
        for image in slide.images:
            for note in image.notes:
                display_set.add_message(note.code, note.severity, note.text)
        for code, severity, text in slide.messages:
            display_set.add_message(code, severity, text)
        claim.display_sets.append(display_set)
    return claim

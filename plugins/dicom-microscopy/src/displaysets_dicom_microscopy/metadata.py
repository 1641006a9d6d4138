"""What one VL Whole Slide Microscopy instance says about itself, from metadata alone.

:func:`read_image_metadata` turns an instance's metadata into a :class:`WsiImage`:
image flavor, total pixel matrix, tile size, frames, focal planes, optical paths,
pixel spacing and the tiling. It never touches pixel data; where an attribute is
missing it records what it assumed in :attr:`WsiImage.notes`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Final

from displaysets import Instance, Severity

from displaysets_dicom_microscopy import attributes as attr

logger = logging.getLogger(__name__)

FLAVORS: Final = ("VOLUME", "LABEL", "OVERVIEW", "THUMBNAIL")
"""The values of Image Flavor (ImageType value 3) of a whole slide image."""
TILED_FULL: Final = "TILED_FULL"
TILED_SPARSE: Final = "TILED_SPARSE"


@dataclass(frozen=True)
class Note:
    """Something assumed or wrong in one instance's metadata, for a message."""

    code: str
    severity: Severity
    text: str


@dataclass
class WsiImage:
    """The metadata of one whole slide image instance that the handler uses."""

    instance: Instance
    flavor: str
    image_type: list[str]
    total_pixel_matrix_columns: int | None
    total_pixel_matrix_rows: int | None
    columns: int | None
    rows: int | None
    number_of_frames: int
    focal_planes: int
    z_offsets: frozenset[float] | None
    optical_path_identifiers: list[str]
    pixel_spacing: list[float] | None
    photometric_interpretation: str | None
    transfer_syntax_uid: str | None
    dimension_organization_type: str
    frame_of_reference_uid: str | None
    pyramid_uid: str | None
    origin: list[float] | None
    concatenation_uid: str | None
    in_concatenation_number: int | None
    in_concatenation_total_number: int | None
    sparse_tile_positions: frozenset[tuple[int, int, float, str]] | None
    notes: list[Note] = field(default_factory=list)

    @property
    def sop_instance_uid(self) -> str:
        return self.instance.sop_instance_uid

    @property
    def location(self) -> str:
        return self.instance.location

    @property
    def size(self) -> tuple[int, int] | None:
        """(columns, rows) of the total pixel matrix, when known."""
        if (
            self.total_pixel_matrix_columns is None
            or self.total_pixel_matrix_rows is None
        ):
            return None
        return (self.total_pixel_matrix_columns, self.total_pixel_matrix_rows)

    @property
    def tile_grid(self) -> tuple[int, int] | None:
        """Tiles per row and per column of the total pixel matrix, when known."""
        if self.size is None or not self.columns or not self.rows:
            return None
        return (
            math.ceil(self.size[0] / self.columns),
            math.ceil(self.size[1] / self.rows),
        )

    def note(self, code: str, severity: Severity, text: str) -> None:
        self.notes.append(Note(code, severity, f"{self.location}: {text}"))


def image_flavor(image_type: list[str]) -> str | None:
    """The Image Flavor (value 3 of ImageType), upper case, or ``None``."""
    if len(image_type) < 3:
        return None
    return image_type[2].upper() or None


def _sparse_positions(
    dataset: Any, optical_paths: list[str]
) -> frozenset[tuple[int, int, float, str]] | None:
    """Distinct (column, row, z, optical path) of the frames of a TILED_SPARSE image,
    from the per-frame functional groups; ``None`` when a frame has no position."""
    shared_path = optical_paths[0] if len(optical_paths) == 1 else ""
    positions = set()
    for item in attr.items(dataset, "PerFrameFunctionalGroupsSequence"):
        plane = attr.first_item(item, "PlanePositionSlideSequence")
        column = attr.integer(plane, "ColumnPositionInTotalImagePixelMatrix")
        row = attr.integer(plane, "RowPositionInTotalImagePixelMatrix")
        if column is None or row is None:
            return None
        z = attr.number(plane, "ZOffsetInSlideCoordinateSystem") or 0.0
        path_item = attr.first_item(item, "OpticalPathIdentificationSequence")
        path = attr.text(path_item, "OpticalPathIdentifier") or shared_path
        positions.add((column, row, z, path))
    return frozenset(positions)


def _z_offsets(dataset: Any) -> frozenset[float] | None:
    """The focal planes' Z offsets, where the metadata states them."""
    frames = attr.items(dataset, "PerFrameFunctionalGroupsSequence")
    values: set[float] = set()
    if frames:
        for item in frames:
            plane = attr.first_item(item, "PlanePositionSlideSequence")
            z = attr.number(plane, "ZOffsetInSlideCoordinateSystem")
            if z is None:
                return None
            values.add(z)
        return frozenset(values)
    shared = attr.first_item(
        dataset, "SharedFunctionalGroupsSequence", "PlanePositionSlideSequence"
    )
    z = attr.number(shared, "ZOffsetInSlideCoordinateSystem")
    return frozenset({z}) if z is not None else None


def _pixel_spacing(
    dataset: Any, columns: int | None, rows: int | None
) -> list[float] | None:
    """PixelSpacing (row, column spacing in mm) of the shared functional groups, else
    of the first frame, else the imaged volume divided by the total pixel matrix."""
    for item in (
        attr.first_item(
            dataset, "SharedFunctionalGroupsSequence", "PixelMeasuresSequence"
        ),
        attr.first_item(
            dataset, "PerFrameFunctionalGroupsSequence", "PixelMeasuresSequence"
        ),
    ):
        spacing = attr.numbers(item, "PixelSpacing", 2)
        if spacing is not None and all(s > 0 for s in spacing):
            return spacing
    width = attr.number(dataset, "ImagedVolumeWidth")
    height = attr.number(dataset, "ImagedVolumeHeight")
    if width and height and columns and rows:
        return [height / rows, width / columns]
    return None


def read_image_metadata(instance: Instance) -> WsiImage:
    """Read what the handler needs from one instance's metadata; never raises for
    missing or malformed attributes (they become notes)."""
    dataset = instance.dataset
    image_type = attr.strings(dataset, "ImageType")
    flavor = image_flavor(image_type)
    notes: list[Note] = []

    def note(code: str, severity: Severity, text: str) -> None:
        notes.append(Note(code, severity, f"{instance.location}: {text}"))

    if flavor is None:
        note(
            "IMAGE_TYPE_MISSING",
            Severity.WARNING,
            "ImageType has no image flavor (value 3); taken as a VOLUME image",
        )
        flavor = "VOLUME"
    elif flavor not in FLAVORS:
        note(
            "IMAGE_FLAVOR_UNKNOWN",
            Severity.WARNING,
            f"image flavor {flavor!r} is not VOLUME, LABEL, OVERVIEW or THUMBNAIL; "
            "kept as an associated image",
        )

    columns = attr.integer(dataset, "Columns")
    rows = attr.integer(dataset, "Rows")
    frames = attr.integer(dataset, "NumberOfFrames")
    number_of_frames = frames if frames is not None and frames > 0 else 1
    if (columns is not None and columns <= 0) or (rows is not None and rows <= 0):
        note(
            "TILE_SIZE_INVALID",
            Severity.ERROR,
            f"Rows x Columns is {rows} x {columns}; tiles cannot be read",
        )
        columns = rows = None
    total_columns = attr.integer(dataset, "TotalPixelMatrixColumns")
    total_rows = attr.integer(dataset, "TotalPixelMatrixRows")
    if (total_columns is not None and total_columns <= 0) or (
        total_rows is not None and total_rows <= 0
    ):
        note(
            "TOTAL_PIXEL_MATRIX_INVALID",
            Severity.WARNING,
            f"TotalPixelMatrixColumns/Rows is {total_columns}x{total_rows}; "
            "not a size, ignored",
        )
        total_columns = total_rows = None
    if total_columns is None or total_rows is None:
        if number_of_frames == 1 and columns and rows:
            total_columns, total_rows = columns, rows
            note(
                "TOTAL_PIXEL_MATRIX_MISSING",
                Severity.WARNING,
                "TotalPixelMatrixColumns/Rows missing; the single frame's "
                f"{columns}x{rows} taken as the total pixel matrix",
            )
        else:
            total_columns = total_rows = None
            note(
                "TOTAL_PIXEL_MATRIX_MISSING",
                Severity.WARNING,
                "TotalPixelMatrixColumns/Rows missing; the image size is unknown",
            )

    optical_paths = [
        attr.text(item, "OpticalPathIdentifier") or ""
        for item in attr.items(dataset, "OpticalPathSequence")
    ]
    per_frame = bool(attr.items(dataset, "PerFrameFunctionalGroupsSequence"))
    organization = attr.text(dataset, "DimensionOrganizationType")
    if organization not in (TILED_FULL, TILED_SPARSE):
        assumed = TILED_SPARSE if per_frame else TILED_FULL
        stated = (
            f"DimensionOrganizationType {organization!r}"
            if organization
            else ("no DimensionOrganizationType")
        )
        note(
            "DIMENSION_ORGANIZATION_ASSUMED",
            Severity.INFO if flavor != "VOLUME" else Severity.WARNING,
            f"{stated}; {assumed} assumed "
            + ("(frames carry positions)" if per_frame else "(no per-frame positions)"),
        )
        organization = assumed
    sparse_positions = None
    if organization == TILED_SPARSE:
        sparse_positions = _sparse_positions(dataset, optical_paths)
        if sparse_positions is None:
            note(
                "FRAME_POSITIONS_MISSING",
                Severity.WARNING,
                "TILED_SPARSE but frames lack PlanePositionSlideSequence positions; "
                "tile positions cannot be checked",
            )

    focal_planes = attr.integer(dataset, "TotalPixelMatrixFocalPlanes")
    if focal_planes is None or focal_planes < 1:
        focal_planes = 1
    origin_item = attr.first_item(dataset, "TotalPixelMatrixOriginSequence")
    origin = None
    if origin_item is not None:
        x = attr.number(origin_item, "XOffsetInSlideCoordinateSystem")
        y = attr.number(origin_item, "YOffsetInSlideCoordinateSystem")
        origin = [x, y] if x is not None and y is not None else None

    concatenation_uid = attr.text(dataset, "ConcatenationUID")
    return WsiImage(
        instance=instance,
        flavor=flavor,
        image_type=image_type,
        total_pixel_matrix_columns=total_columns,
        total_pixel_matrix_rows=total_rows,
        columns=columns,
        rows=rows,
        number_of_frames=number_of_frames,
        focal_planes=focal_planes,
        z_offsets=_z_offsets(dataset),
        optical_path_identifiers=optical_paths,
        pixel_spacing=_pixel_spacing(dataset, total_columns, total_rows),
        photometric_interpretation=attr.text(dataset, "PhotometricInterpretation"),
        transfer_syntax_uid=attr.transfer_syntax_uid(dataset),
        dimension_organization_type=organization,
        frame_of_reference_uid=attr.text(dataset, "FrameOfReferenceUID"),
        pyramid_uid=attr.text(dataset, "PyramidUID"),
        origin=origin,
        concatenation_uid=concatenation_uid,
        in_concatenation_number=attr.integer(dataset, "InConcatenationNumber"),
        in_concatenation_total_number=attr.integer(
            dataset, "InConcatenationTotalNumber"
        ),
        sparse_tile_positions=sparse_positions,
        notes=notes,
    )


def optical_path_record(item: Any) -> dict[str, Any]:
    """One OpticalPathSequence item: identifier, illumination and colour information."""
    wavelength = attr.number(item, "IlluminationWaveLength")
    return {
        "identifier": attr.text(item, "OpticalPathIdentifier") or "",
        "description": attr.text(item, "OpticalPathDescription") or "",
        "illuminationTypes": attr.codes(item, "IlluminationTypeCodeSequence"),
        "illuminationWaveLength": wavelength,
        "illuminationColor": attr.code(
            attr.first_item(item, "IlluminationColorCodeSequence")
        ),
        "illuminators": attr.codes(item, "IlluminatorTypeCodeSequence"),
        "lightPathFilters": attr.codes(item, "LightPathFilterTypeStackCodeSequence"),
        "imagePathFilters": attr.codes(item, "ImagePathFilterTypeStackCodeSequence"),
        "lenses": attr.codes(item, "LensesCodeSequence"),
        "objectiveLensPower": attr.number(item, "ObjectiveLensPower"),
        "objectiveLensNumericalAperture": attr.number(
            item, "ObjectiveLensNumericalAperture"
        ),
        "hasICCProfile": "ICCProfile" in item,
        "hasPaletteColorLookupTable": "PaletteColorLookupTableSequence" in item
        or "RedPaletteColorLookupTableData" in item,
    }


def specimen_records(dataset: Any) -> list[dict[str, Any]]:
    """Specimen Description Sequence items: identifier, UID, description, anatomy."""
    found = []
    for item in attr.items(dataset, "SpecimenDescriptionSequence"):
        found.append(
            {
                "identifier": attr.text(item, "SpecimenIdentifier") or "",
                "uid": attr.text(item, "SpecimenUID") or "",
                "shortDescription": attr.text(item, "SpecimenShortDescription") or "",
                "primaryAnatomicStructures": attr.codes(
                    item, "PrimaryAnatomicStructureSequence"
                ),
            }
        )
    return found

"""Export of a slide display set as PNG: the thumbnail, a whole level or a region."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from displaysets import DisplaySet, ExportError
from displaysets.errors import DestinationExists
from displaysets.exporting import replacing
from displaysets.uids import safe_file_stem

from displaysets_dicom_microscopy.content import DEFAULT_THUMBNAIL_SIZE, SlideContent

logger = logging.getLogger(__name__)

MAX_EXPORT_PIXELS: Final = 16384 * 16384
"""Largest level or region written in one PNG; larger requests are refused."""


def _target(display_set: DisplaySet, destination: Path, name: str) -> Path:
    """A ``.png`` destination is the file; anything else is a folder to write in."""
    if destination.suffix.lower() == ".png" and not destination.is_dir():
        return destination
    if destination.exists() and not destination.is_dir():
        raise ExportError(f"{destination}: a slide exports to a .png file or a folder")
    return (
        destination
        / f"{safe_file_stem(display_set.series_instance_uid, 'slide')}_{name}.png"
    )


def export_png(
    display_set: DisplaySet,
    destination: Path,
    overwrite: bool = False,
    *,
    level: int | None = None,
    region: tuple[int, int, int, int] | None = None,
    size: int = DEFAULT_THUMBNAIL_SIZE,
) -> list[Path]:
    """Write the slide's thumbnail, a whole level or a region of a level as PNG.

    Parameters
    ----------
    display_set
        A slide display set of this plugin.
    destination
        A ``.png`` file, or a folder in which ``<SeriesInstanceUID>_<what>.png`` is
        written.
    overwrite
        Replace an existing file instead of raising :class:`ExportError`.
    level
        Write this whole pyramid level (or the region of it) instead of the
        thumbnail.
    region
        ``(x, y, width, height)`` in pixels of ``level`` (level 0 when not given).
    size
        Longest side of the thumbnail, in pixels.

    Returns
    -------
    list of Path
        The file written.
    """
    if region is not None:
        level = 0 if level is None else level
        x, y, width, height = region
        name = f"level{level}_{x}_{y}_{width}x{height}"
        pixels = width * height
    elif level is not None:
        name = f"level{level}"
        pixels = 0
    else:
        name = "thumbnail"
        pixels = 0
    target = _target(display_set, Path(destination), name)
    if target.exists() and not overwrite:
        raise DestinationExists(target)
    with SlideContent(display_set) as content:
        if region is not None:
            assert level is not None
            if width <= 0 or height <= 0 or pixels > MAX_EXPORT_PIXELS:
                raise ExportError(f"region {width}x{height} cannot be exported")
            image = content.read_region(level, (x, y), (width, height))
        elif level is not None:
            info = content.levels[level] if 0 <= level < len(content.levels) else None
            if info is None:
                raise ExportError(
                    f"level {level} does not exist; the slide has "
                    f"{len(content.levels)} level(s)"
                )
            area = info["totalPixelMatrixColumns"] * info["totalPixelMatrixRows"]
            if area > MAX_EXPORT_PIXELS:
                raise ExportError(
                    f"level {level} has {area} pixels, too many for one PNG; export a "
                    "region of it"
                )
            image = content.read_level(level)
        else:
            image = content.read_thumbnail(size)
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as temporary:
        image.save(temporary, format="PNG")
    logger.info("wrote %s", target)
    return [target]


def export_slide(
    display_set: DisplaySet, destination: Path, overwrite: bool
) -> list[Path]:
    """The handler's export: the thumbnail as PNG."""
    return export_png(display_set, destination, overwrite)

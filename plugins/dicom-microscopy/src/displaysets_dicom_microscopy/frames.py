"""Decode a whole single-plane image (LABEL, OVERVIEW, THUMBNAIL) with pydicom.

Associated images are small: their frames are decoded with pydicom's pixel data
backends and, for a tiled image, laid out on the tile grid (TILED_FULL order, or the
frame positions of a TILED_SPARSE image). Only the first focal plane and optical path
are read.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from displaysets import ContentError, Instance

from displaysets_dicom_microscopy import attributes as attr

if TYPE_CHECKING:
    from PIL.Image import Image

logger = logging.getLogger(__name__)


def _frame_origins(
    dataset: Any, grid: tuple[int, int], frames: int
) -> list[tuple[int, int]]:
    """Top-left pixel of each frame's tile in the total pixel matrix (0-based)."""
    columns, rows = (
        attr.integer(dataset, "Columns") or 0,
        attr.integer(dataset, "Rows") or 0,
    )
    per_frame = attr.items(dataset, "PerFrameFunctionalGroupsSequence")
    if attr.text(dataset, "DimensionOrganizationType") == "TILED_SPARSE" and per_frame:
        origins = []
        for item in per_frame:
            plane = attr.first_item(item, "PlanePositionSlideSequence")
            x = attr.integer(plane, "ColumnPositionInTotalImagePixelMatrix")
            y = attr.integer(plane, "RowPositionInTotalImagePixelMatrix")
            if x is None or y is None:
                raise ContentError("a TILED_SPARSE frame has no position")
            origins.append((x - 1, y - 1))
        return origins
    tiles_per_plane = grid[0] * grid[1]
    return [
        ((index % grid[0]) * columns, ((index // grid[0]) % grid[1]) * rows)
        for index in range(min(frames, tiles_per_plane))
    ]


def read_whole_image(instance: Instance) -> Image:
    """The instance's total pixel matrix as an RGB (or L) Pillow image."""
    import numpy as np
    from PIL import Image as PILImage
    from pydicom.pixels import iter_pixels

    try:
        dataset = instance.open_dataset()
    except ContentError:
        raise
    except Exception as error:
        raise ContentError(f"{instance.location}: cannot read: {error}") from error
    columns = attr.integer(dataset, "Columns")
    rows = attr.integer(dataset, "Rows")
    if not columns or not rows or "PixelData" not in dataset:
        raise ContentError(f"{instance.location}: no pixel data to decode")
    width = attr.integer(dataset, "TotalPixelMatrixColumns") or columns
    height = attr.integer(dataset, "TotalPixelMatrixRows") or rows
    frames = attr.integer(dataset, "NumberOfFrames") or 1
    grid = (math.ceil(width / columns), math.ceil(height / rows))
    try:
        origins = _frame_origins(dataset, grid, frames)
        canvas: np.ndarray | None = None
        for index, frame in enumerate(iter_pixels(dataset)):
            if index >= len(origins):
                break
            if frame.ndim == 2:
                frame = frame[..., np.newaxis]
            if canvas is None:
                canvas = np.full(
                    (height, width, frame.shape[2]), 255, dtype=frame.dtype
                )
            x, y = origins[index]
            part = frame[: max(height - y, 0), : max(width - x, 0)]
            canvas[y : y + part.shape[0], x : x + part.shape[1]] = part
    except ContentError as error:
        raise ContentError(f"{instance.location}: {error}") from error
    except Exception as error:
        raise ContentError(
            f"{instance.location}: cannot decode pixel data: {error}"
        ) from error
    if canvas is None:
        raise ContentError(f"{instance.location}: the pixel data holds no frame")
    if canvas.dtype != np.uint8:
        canvas = _to_uint8(canvas)
    if canvas.shape[2] == 1:
        return PILImage.fromarray(canvas[..., 0])
    return PILImage.fromarray(np.ascontiguousarray(canvas[..., :3]))


def _to_uint8(array: Any) -> Any:
    """Scale an integer image into 0-255 for display."""
    import numpy as np

    low, high = float(array.min()), float(array.max())
    if high <= low:
        return np.zeros(array.shape, dtype=np.uint8)
    scaled = (array.astype(np.float64) - low) * (255.0 / (high - low))
    return scaled.round().astype(np.uint8)

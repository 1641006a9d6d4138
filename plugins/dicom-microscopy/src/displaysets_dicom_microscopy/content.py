"""The content of a slide display set: tiles, regions and images read on demand.

:class:`SlideContent` opens the slide's instances with wsidicom the first time pixels
are asked for, and keeps it open until :meth:`SlideContent.close`. Levels are numbered
as in the display set record (0 is the highest resolution). LABEL, OVERVIEW and
THUMBNAIL images are decoded with pydicom, so a series holding only a label still loads.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from displaysets import ContentError, DisplaySet, Instance

if TYPE_CHECKING:
    from PIL.Image import Image
    from wsidicom import WsiDicom

logger = logging.getLogger(__name__)

DEFAULT_THUMBNAIL_SIZE: Final = 512
"""Longest side, in pixels, of a thumbnail read without a size."""
MAX_LEVEL_READ: Final = 8192
"""Largest side of a whole level read to make a thumbnail; larger levels are scaled
by wsidicom from a suitable level instead."""


def _is_local_file(instance: Instance) -> bool:
    try:
        return Path(instance.location).is_file()
    except (OSError, ValueError):
        return False


class SlideContent:
    """Lazy pixel access to one slide display set.

    Parameters
    ----------
    display_set
        A slide display set made by this plugin in this process (it carries its
        instances).
    """

    def __init__(self, display_set: DisplaySet) -> None:
        self.display_set = display_set
        self.levels: list[dict[str, Any]] = list(
            display_set.attributes.get("levels", [])
        )
        self.associated_images: list[dict[str, Any]] = list(
            display_set.attributes.get("associatedImages", [])
        )
        self._instances = {i.sop_instance_uid: i for i in display_set.instances}
        self._wsi: WsiDicom | None = None
        self._memory_paths: list[str] = []
        self._level_numbers: list[int] | None = None
        self._lock = threading.Lock()

    # -- opening -------------------------------------------------------------------

    def _level_instances(self) -> list[Instance]:
        uids = [u for level in self.levels for u in level["sopInstanceUIDs"]]
        uids += [i["sopInstanceUID"] for i in self.associated_images]
        return [self._instances[u] for u in uids if u in self._instances]

    def _open_paths(self, instances: Sequence[Instance]) -> list[Any]:
        """Paths wsidicom can open: local files as they are, other instances fetched
        through their source into fsspec's in-memory file system."""
        paths: list[Any] = []
        for instance in instances:
            if _is_local_file(instance):
                paths.append(Path(instance.location))
                continue
            paths.append(self._fetch_into_memory(instance))
        return paths

    def _fetch_into_memory(self, instance: Instance) -> Any:
        import io

        import fsspec
        from upath import UPath

        dataset = instance.open_dataset()
        if "PixelData" not in dataset:
            raise ContentError(
                f"{instance.location}: the source holds no pixel data for this instance"
            )
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        path = f"/displaysets-dicom-microscopy/{uuid.uuid4().hex}.dcm"
        filesystem = fsspec.filesystem("memory")
        with filesystem.open(path, "wb") as handle:
            handle.write(buffer.getvalue())
        self._memory_paths.append(path)
        return UPath(f"memory://{path}")

    @property
    def wsi(self) -> WsiDicom:
        """The open wsidicom slide (opened on first use)."""
        if self._wsi is None:
            with self._lock:
                if self._wsi is None:
                    self._wsi = self._open()
        return self._wsi

    def _open(self) -> WsiDicom:
        if not self.levels:
            raise ContentError(
                f"display set {self.display_set.display_set_instance_uid}: the slide "
                "has no pyramid level (no VOLUME image) to read tiles from"
            )
        try:
            from wsidicom import WsiDicom
        except ImportError as error:  # pragma: no cover - a declared dependency
            raise ContentError(f"wsidicom is needed to read tiles: {error}") from error
        instances = self._level_instances()
        try:
            paths = self._open_paths(instances)
            wsi = WsiDicom.open(paths)
        except ContentError:
            self._release_memory()
            raise
        except Exception as error:
            self._release_memory()
            where = ", ".join(i.location for i in instances[:3])
            raise ContentError(
                f"{where}: wsidicom cannot open the slide: {error}"
            ) from error
        try:
            self._level_numbers = self._match_levels(wsi)
        except ContentError:
            wsi.close()
            self._release_memory()
            raise
        return wsi

    def _match_levels(self, wsi: WsiDicom) -> list[int]:
        """wsidicom's level number of each of our levels, matched by size."""
        by_size = {(lv.size.width, lv.size.height): lv.level for lv in wsi.levels}
        numbers = []
        for level in self.levels:
            size = (level["totalPixelMatrixColumns"], level["totalPixelMatrixRows"])
            if size not in by_size:
                raise ContentError(
                    f"level {level['level']} ({size[0]}x{size[1]}, instances "
                    f"{', '.join(level['sopInstanceUIDs'])}) is not among the levels "
                    "wsidicom could read"
                )
            numbers.append(by_size[size])
        return numbers

    def _release_memory(self) -> None:
        if not self._memory_paths:
            return
        import fsspec

        filesystem = fsspec.filesystem("memory")
        for path in self._memory_paths:
            if filesystem.exists(path):
                filesystem.rm(path)
        self._memory_paths = []

    def close(self) -> None:
        """Close the files wsidicom holds open."""
        if self._wsi is not None:
            self._wsi.close()
            self._wsi = None
        self._release_memory()

    def __enter__(self) -> SlideContent:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- levels --------------------------------------------------------------------

    def _wsi_level(self, level: int) -> tuple[WsiDicom, int]:
        wsi = self.wsi
        numbers = self._level_numbers
        assert numbers is not None
        if not 0 <= level < len(numbers):
            raise ContentError(
                f"level {level} does not exist; the slide has {len(numbers)} level(s)"
            )
        return wsi, numbers[level]

    def read_tile(
        self,
        level: int,
        column: int,
        row: int,
        *,
        z: float | None = None,
        optical_path: str | None = None,
    ) -> Image:
        """The tile at (``column``, ``row``) of the tile grid of ``level``, cropped to
        the image; a tile a sparse level lacks reads as background."""
        wsi, number = self._wsi_level(level)
        try:
            return wsi.read_tile(number, (column, row), z=z, path=optical_path)
        except Exception as error:
            raise ContentError(
                f"level {level}: cannot read tile ({column}, {row}): {error}"
            ) from error

    def read_region(
        self,
        level: int,
        location: tuple[int, int],
        size: tuple[int, int],
        *,
        z: float | None = None,
        optical_path: str | None = None,
    ) -> Image:
        """A ``size`` (width, height) region at pixel ``location`` (x, y) of a level."""
        wsi, number = self._wsi_level(level)
        try:
            return wsi.read_region(location, number, size, z=z, path=optical_path)
        except Exception as error:
            raise ContentError(
                f"level {level}: cannot read region {size} at {location}: {error}"
            ) from error

    def read_level(self, level: int) -> Image:
        """A whole level as one image."""
        info = self._level_info(level)
        size = (info["totalPixelMatrixColumns"], info["totalPixelMatrixRows"])
        return self.read_region(level, (0, 0), size)

    def _level_info(self, level: int) -> dict[str, Any]:
        if not 0 <= level < len(self.levels):
            raise ContentError(
                f"level {level} does not exist; the slide has {len(self.levels)} "
                "level(s)"
            )
        return self.levels[level]

    # -- associated images -----------------------------------------------------------

    def _associated(self, flavor: str) -> dict[str, Any] | None:
        found = [i for i in self.associated_images if i["imageFlavor"] == flavor]
        return found[0] if found else None

    def _read_associated(self, record: dict[str, Any]) -> Image:
        instance = self._instances.get(record["sopInstanceUID"])
        if instance is None:
            raise ContentError(
                f"{record['imageFlavor']} image {record['sopInstanceUID']} is not "
                "among the display set's instances"
            )
        from displaysets_dicom_microscopy.frames import read_whole_image

        return read_whole_image(instance)

    def read_label(self) -> Image:
        """The LABEL image; :class:`ContentError` when the slide has none."""
        record = self._associated("LABEL")
        if record is None:
            raise ContentError(self._none_text("LABEL"))
        return self._read_associated(record)

    def read_overview(self) -> Image:
        """The OVERVIEW image; :class:`ContentError` when the slide has none."""
        record = self._associated("OVERVIEW")
        if record is None:
            raise ContentError(self._none_text("OVERVIEW"))
        return self._read_associated(record)

    def _none_text(self, flavor: str) -> str:
        return (
            f"display set {self.display_set.display_set_instance_uid} has no {flavor} "
            "image"
        )

    def read_thumbnail(self, size: int = DEFAULT_THUMBNAIL_SIZE) -> Image:
        """The study browser's thumbnail, at most ``size`` pixels on its longest side:
        the THUMBNAIL image, else the smallest level, else OVERVIEW, else LABEL."""
        choice = self.display_set.attributes.get("thumbnail")
        if not choice:
            raise ContentError(self._none_text("image to make a thumbnail of an"))
        if choice["imageFlavor"] == "VOLUME":
            info = self._level_info(choice["level"])
            width, height = (
                info["totalPixelMatrixColumns"],
                info["totalPixelMatrixRows"],
            )
            if max(width, height) > MAX_LEVEL_READ:
                try:
                    return self.wsi.read_thumbnail((size, size))
                except Exception as error:
                    raise ContentError(f"cannot read a thumbnail: {error}") from error
            image = self.read_level(choice["level"])
        else:
            image = self._read_associated(
                next(
                    i
                    for i in self.associated_images
                    if i["sopInstanceUID"] == choice["sopInstanceUID"]
                )
            )
        image = image.copy()
        image.thumbnail((size, size))
        return image


def load_slide(display_set: DisplaySet) -> SlideContent:
    """The lazy content of a slide display set (nothing is read until asked)."""
    return SlideContent(display_set)

"""Bad and unusual whole slide metadata: the display set appears, with messages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from displaysets import DisplaySet, Instance
from displaysets.service import DisplaySetService
from displaysets.sources.files import FileSource
from displaysets.sources.reading import read_instance
from displaysets.testing import require_corpus
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

Edit = Callable[[Dataset], None]


def _level(path: Path, edit: Edit | None = None, **values: Any) -> Instance:
    """The metadata of a corpus file as an instance, with a new SOP Instance UID and
    the given attributes set (``None`` deletes one), then ``edit`` applied."""
    source = FileSource([])
    instance = read_instance(str(path), source)
    dataset = copy.deepcopy(instance.dataset)
    dataset.SOPInstanceUID = generate_uid()
    for keyword, value in values.items():
        if value is None:
            if keyword in dataset:
                delattr(dataset, keyword)
        else:
            setattr(dataset, keyword, value)
    if edit is not None:
        edit(dataset)
    return Instance(
        dataset=dataset,
        location=f"{path.name}#{dataset.SOPInstanceUID[-6:]}",
        source=source,
        bulk_data=dict(instance.bulk_data),
    )


def _dispatch(microscopy: Any, instances: list[Instance]) -> list[DisplaySet]:
    service = DisplaySetService(microscopy.make_host())
    service.add_instances(instances)
    result = microscopy.slides(service)
    assert all(
        m.code != "HANDLER_ERROR" for d in service.display_sets for m in d.messages
    )
    return result


def _codes(display_set: DisplaySet) -> list[str]:
    return [m.code for m in display_set.messages]


@pytest.fixture
def pyramid_files() -> list[Path]:
    folder = require_corpus("toolmade", "sm", "wsidicom_pyramid_camelyon")
    return sorted(folder.glob("level*.dcm"))


@pytest.fixture
def label_file() -> Path:
    return require_corpus("toolmade", "sm", "wsidicom_pyramid_camelyon", "label.dcm")


def test_missing_origin_is_assumed_at_zero(microscopy: Any, native_slide: Path) -> None:
    [slide] = _dispatch(
        microscopy, [_level(native_slide, TotalPixelMatrixOriginSequence=None)]
    )
    assert "TOTAL_PIXEL_MATRIX_ORIGIN_MISSING" in _codes(slide)
    assert slide.attributes["totalPixelMatrixOrigin"] == [0.0, 0.0]
    assert slide.attributes["levels"][0]["origin"] is None


def test_missing_image_type_is_taken_as_a_level(
    microscopy: Any, native_slide: Path
) -> None:
    [slide] = _dispatch(microscopy, [_level(native_slide, ImageType=None)])
    assert "IMAGE_TYPE_MISSING" in _codes(slide)
    [level] = slide.attributes["levels"]
    assert level["totalPixelMatrixColumns"] == 50
    assert level["imageType"] == []


def test_tiled_full_without_organization_type_is_assumed(
    microscopy: Any, native_slide: Path
) -> None:
    [slide] = _dispatch(
        microscopy, [_level(native_slide, DimensionOrganizationType=None)]
    )
    assert "DIMENSION_ORGANIZATION_ASSUMED" in _codes(slide)
    [level] = slide.attributes["levels"]
    assert level["dimensionOrganizationType"] == "TILED_FULL"
    assert (level["tileGridColumns"], level["tileGridRows"]) == (5, 5)
    assert "TILED_FULL_FRAME_COUNT" not in _codes(slide)


def test_a_tiled_full_frame_count_that_does_not_fit_the_grid_warns(
    microscopy: Any, native_slide: Path
) -> None:
    [slide] = _dispatch(microscopy, [_level(native_slide, NumberOfFrames=20)])
    [message] = [m for m in slide.messages if m.code == "TILED_FULL_FRAME_COUNT"]
    assert "20 frames" in message.text and "make 25" in message.text


def _sparse_positions(keep: list[tuple[int, int]]) -> Edit:
    def edit(dataset: Dataset) -> None:
        items = []
        for column, row in keep:
            position = Dataset()
            position.ColumnPositionInTotalImagePixelMatrix = column * 10 + 1
            position.RowPositionInTotalImagePixelMatrix = row * 10 + 1
            position.ZOffsetInSlideCoordinateSystem = 0
            item = Dataset()
            item.PlanePositionSlideSequence = DicomSequence([position])
            items.append(item)
        dataset.PerFrameFunctionalGroupsSequence = DicomSequence(items)
        dataset.NumberOfFrames = len(items)

    return edit


def test_missing_sparse_tiles_are_counted_not_errors(
    microscopy: Any, native_slide: Path
) -> None:
    keep = [(c, r) for r in range(5) for c in range(5) if (c + r) % 3]
    instance = _level(
        native_slide, _sparse_positions(keep), DimensionOrganizationType="TILED_SPARSE"
    )
    [slide] = _dispatch(microscopy, [instance])
    [level] = slide.attributes["levels"]
    assert level["dimensionOrganizationType"] == "TILED_SPARSE"
    assert level["missingTiles"] == 25 - len(keep)
    [message] = [m for m in slide.messages if m.code == "SPARSE_TILES_MISSING"]
    assert message.severity.value == "info"


def test_sparse_frames_without_organization_type_are_taken_as_sparse(
    microscopy: Any, native_slide: Path
) -> None:
    instance = _level(
        native_slide, _sparse_positions([(0, 0)]), DimensionOrganizationType=None
    )
    [slide] = _dispatch(microscopy, [instance])
    assert slide.attributes["levels"][0]["dimensionOrganizationType"] == "TILED_SPARSE"
    assert slide.attributes["levels"][0]["missingTiles"] == 24


def test_a_concatenation_with_a_part_missing_warns(
    microscopy: Any, native_slide: Path, derive: Any
) -> None:
    folder = derive("half")
    [part] = microscopy.write_concatenation(native_slide, folder, split=15, parts=(2,))
    [slide] = microscopy.slides(microscopy.scan([part]))
    [message] = [m for m in slide.messages if m.code == "CONCATENATION_INCOMPLETE"]
    assert "parts 2 of 2 are present" in message.text
    assert slide.attributes["levels"][0]["concatenations"][0]["complete"] is False
    assert "TILED_FULL_FRAME_COUNT" not in _codes(slide)


def test_a_frame_of_reference_mismatch_only_warns(
    microscopy: Any, pyramid_files: list[Path]
) -> None:
    instances = [_level(p) for p in pyramid_files]
    instances[2].dataset.FrameOfReferenceUID = generate_uid()
    [slide] = _dispatch(microscopy, instances)
    assert len(slide.attributes["levels"]) == 4
    [message] = [m for m in slide.messages if m.code == "FRAME_OF_REFERENCE_MISMATCH"]
    assert message.severity.value == "warning"


def test_two_pyramid_uids_in_a_series_are_two_slides(
    microscopy: Any, pyramid_files: list[Path], label_file: Path
) -> None:
    instances = [_level(p) for p in pyramid_files]
    other = generate_uid()
    for instance in instances[2:]:
        instance.dataset.PyramidUID = other
    label = _level(label_file)
    found = _dispatch(microscopy, [*instances, label])
    assert sorted(len(d.attributes["levels"]) for d in found) == [2, 2]
    assert sum(len(d.attributes["associatedImages"]) for d in found) == 1
    assert all("MULTIPLE_PYRAMIDS" in _codes(d) for d in found)
    assert len({d.display_set_instance_uid for d in found}) == 2


def _flavored(path: Path, flavor: str, **values: Any) -> Instance:
    return _level(path, ImageType=["DERIVED", "PRIMARY", flavor, "NONE"], **values)


def test_thumbnail_choice_prefers_a_thumbnail_image(
    microscopy: Any, pyramid_files: list[Path], label_file: Path
) -> None:
    levels = [_level(p) for p in pyramid_files]
    thumbnail = _flavored(pyramid_files[-1], "THUMBNAIL")
    overview = _flavored(label_file, "OVERVIEW")
    label = _level(label_file)

    [slide] = _dispatch(microscopy, [*levels, thumbnail, overview, label])
    assert slide.attributes["thumbnail"]["imageFlavor"] == "THUMBNAIL"
    assert slide.attributes["thumbnail"]["sopInstanceUID"] == thumbnail.sop_instance_uid
    assert len(slide.attributes["levels"]) == 4

    [slide] = _dispatch(microscopy, [*levels, overview, label])
    assert slide.attributes["thumbnail"] == {
        "imageFlavor": "VOLUME",
        "sopInstanceUID": levels[-1].sop_instance_uid,
        "level": 3,
    }

    [slide] = _dispatch(microscopy, [overview, label])
    assert slide.attributes["thumbnail"]["imageFlavor"] == "OVERVIEW"

    [slide] = _dispatch(microscopy, [label])
    assert slide.attributes["thumbnail"]["imageFlavor"] == "LABEL"


def test_an_unknown_flavor_is_kept_as_an_associated_image(
    microscopy: Any, native_slide: Path, label_file: Path
) -> None:
    level = _level(native_slide)
    odd = _flavored(
        label_file,
        "LOCALIZER",
        StudyInstanceUID=level.study_instance_uid,
        SeriesInstanceUID=level.series_instance_uid,
    )
    [slide] = _dispatch(microscopy, [level, odd])
    assert [a["imageFlavor"] for a in slide.attributes["associatedImages"]] == [
        "LOCALIZER"
    ]
    assert "IMAGE_FLAVOR_UNKNOWN" in _codes(slide)


def test_a_stripped_instance_is_a_slide_with_messages(
    microscopy: Any, native_slide: Path
) -> None:
    full = _level(native_slide)
    stripped = Dataset()
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"):
        setattr(stripped, keyword, full.dataset.get(keyword))
    stripped.SeriesInstanceUID = full.dataset.SeriesInstanceUID
    instance = Instance(dataset=stripped, location="stripped", source=full.source)
    [slide] = _dispatch(microscopy, [instance])
    codes = _codes(slide)
    assert {"IMAGE_TYPE_MISSING", "TOTAL_PIXEL_MATRIX_MISSING"} <= set(codes)
    [level] = slide.attributes["levels"]
    assert level["totalPixelMatrixColumns"] is None
    assert slide.to_json()["levels"][0]["tileGridColumns"] is None


def test_a_zero_total_pixel_matrix_is_ignored_with_messages(
    microscopy: Any, native_slide: Path
) -> None:
    [slide] = _dispatch(
        microscopy,
        [_level(native_slide, TotalPixelMatrixColumns=0, TotalPixelMatrixRows=0)],
    )
    assert _codes(slide)[:2] == [
        "TOTAL_PIXEL_MATRIX_INVALID",
        "TOTAL_PIXEL_MATRIX_MISSING",
    ]
    [level] = slide.attributes["levels"]
    assert level["totalPixelMatrixColumns"] is None


@pytest.mark.parametrize(("rows", "columns"), [(0, 10), (10, 0)])
def test_a_zero_tile_size_is_an_error_message(
    microscopy: Any, native_slide: Path, rows: int, columns: int
) -> None:
    [slide] = _dispatch(microscopy, [_level(native_slide, Rows=rows, Columns=columns)])
    [message] = [m for m in slide.messages if m.code == "TILE_SIZE_INVALID"]
    assert message.severity.value == "error"
    assert message.text.endswith(
        f"Rows x Columns is {rows} x {columns}; tiles cannot be read"
    )

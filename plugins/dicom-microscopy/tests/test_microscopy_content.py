"""Tiles, regions, thumbnails and labels read through the plugin, compared with
wsidicom's own reading of the same files; PNG export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from displaysets import ContentError, ExportError
from displaysets.testing import require_corpus
from displaysets_dicom_microscopy.content import SlideContent
from displaysets_dicom_microscopy.export import export_png
from PIL import Image
from wsidicom import WsiDicom

PYRAMIDS = ("wsidicom_pyramid_cmu1", "wsidicom_pyramid_camelyon")
SINGLE_LEVEL_FILES = (
    "ezwsi_multiframe_camelyon_challenge_image.dcm",
    "highdicom_sm_image.dcm",
    "highdicom_sm_image_jpegls.dcm",
    "wsi2dcm_jpeg.dcm",
    "wsi2dcm_jpeg2000.dcm",
)


def _pixels(image: Any) -> np.ndarray:
    return np.asarray(image)


def _load(microscopy: Any, paths: list[Path]) -> tuple[Any, SlideContent]:
    service = microscopy.scan(paths)
    [slide] = microscopy.slides(service)
    content = service.load(slide)
    assert isinstance(content, SlideContent)
    return slide, content


@pytest.mark.parametrize("name", PYRAMIDS)
def test_every_tile_of_every_level_equals_wsidicoms(name: str, microscopy: Any) -> None:
    folder = require_corpus("toolmade", "sm", name)
    slide, content = _load(microscopy, [folder])
    reference = WsiDicom.open(folder)
    try:
        reference_levels = sorted(reference.levels, key=lambda lv: -lv.size.width)
        for level, wsi_level in zip(
            slide.attributes["levels"], reference_levels, strict=True
        ):
            assert level["totalPixelMatrixColumns"] == wsi_level.size.width
            for row in range(level["tileGridRows"]):
                for column in range(level["tileGridColumns"]):
                    ours = content.read_tile(level["level"], column, row)
                    theirs = reference.read_tile(wsi_level.level, (column, row))
                    assert np.array_equal(_pixels(ours), _pixels(theirs))
    finally:
        content.close()
        reference.close()


@pytest.mark.parametrize("name", SINGLE_LEVEL_FILES)
def test_tiles_of_single_level_files_equal_wsidicoms(
    name: str, microscopy: Any
) -> None:
    path = require_corpus("sm", name)
    slide, content = _load(microscopy, [path])
    [level] = slide.attributes["levels"]
    with content, WsiDicom.open(path) as reference:
        for row in range(level["tileGridRows"]):
            for column in range(level["tileGridColumns"]):
                ours = content.read_tile(0, column, row)
                theirs = reference.read_tile(0, (column, row))
                assert np.array_equal(_pixels(ours), _pixels(theirs))


def test_a_region_across_tiles_equals_wsidicoms(microscopy: Any) -> None:
    folder = require_corpus("toolmade", "sm", "wsidicom_pyramid_camelyon")
    _, content = _load(microscopy, [folder])
    with content, WsiDicom.open(folder) as reference:
        ours = content.read_region(1, (200, 100), (300, 200))
        theirs = reference.read_region((200, 100), 1, (300, 200))
        assert ours.size == (300, 200)
        assert np.array_equal(_pixels(ours), _pixels(theirs))


@pytest.mark.parametrize("name", PYRAMIDS)
def test_the_label_equals_wsidicoms(name: str, microscopy: Any) -> None:
    folder = require_corpus("toolmade", "sm", name)
    _, content = _load(microscopy, [folder])
    with content, WsiDicom.open(folder) as reference:
        label = content.read_label()
        assert label.size == (240, 120)
        assert np.array_equal(_pixels(label), _pixels(reference.read_label()))


def test_the_thumbnail_is_the_smallest_level_scaled(microscopy: Any) -> None:
    folder = require_corpus("toolmade", "sm", "wsidicom_pyramid_cmu1")
    _, content = _load(microscopy, [folder])
    with content:
        smallest = content.read_level(2)
        thumbnail = content.read_thumbnail(120)
        assert smallest.size == (240, 179)
        assert thumbnail.size == (120, 90)
        expected = smallest.copy()
        expected.thumbnail((120, 120))
        assert np.array_equal(_pixels(thumbnail), _pixels(expected))


def test_a_label_only_slide_reads_its_label_but_no_tile(microscopy: Any) -> None:
    path = require_corpus("sm", "ezwsi_test_wsi_label.dcm")
    _, content = _load(microscopy, [path])
    with content:
        assert content.read_label().size == (234, 117)
        assert content.read_thumbnail(100).size == (100, 50)
        with pytest.raises(ContentError, match="no pyramid level"):
            content.read_tile(0, 0, 0)
        with pytest.raises(ContentError, match="has no OVERVIEW image"):
            content.read_overview()


def test_a_missing_level_or_tile_is_a_content_error(microscopy: Any) -> None:
    path = require_corpus("sm", "highdicom_sm_image.dcm")
    _, content = _load(microscopy, [path])
    with content:
        with pytest.raises(ContentError, match="level 3 does not exist"):
            content.read_tile(3, 0, 0)
        with pytest.raises(ContentError, match=r"cannot read tile \(9, 9\)"):
            content.read_tile(0, 9, 9)


def test_metadata_only_json_builds_but_cannot_load_tiles(microscopy: Any) -> None:
    path = require_corpus("dicomweb", "dmv_metadata_wsi.json")
    _, content = _load(microscopy, [path])
    with content, pytest.raises(ContentError, match="BulkDataURI"):
        content.read_tile(0, 0, 0)


def test_missing_tiles_of_a_sparse_level_read_as_background(
    microscopy: Any, native_slide: Path, tmp_path: Path
) -> None:
    sparse = tmp_path / "sparse.dcm"
    microscopy.write_sparse(native_slide, sparse, drop={6, 12})
    slide, content = _load(microscopy, [sparse])
    [level] = slide.attributes["levels"]
    assert level["dimensionOrganizationType"] == "TILED_SPARSE"
    assert level["numberOfFrames"] == 23
    assert level["missingTiles"] == 2
    assert "SPARSE_TILES_MISSING" in {m.code for m in slide.messages}
    with content, WsiDicom.open(native_slide) as full:
        assert np.all(_pixels(content.read_tile(0, 1, 1)) == 255)
        assert np.all(_pixels(content.read_tile(0, 2, 2)) == 255)
        for column, row in ((0, 0), (2, 1), (4, 4)):
            assert np.array_equal(
                _pixels(content.read_tile(0, column, row)),
                _pixels(full.read_tile(0, (column, row))),
            )


def test_a_level_split_into_a_concatenation_is_merged(
    microscopy: Any, native_slide: Path, derive: Any
) -> None:
    folder = derive("concatenation")
    parts = microscopy.write_concatenation(native_slide, folder, split=15)
    slide, content = _load(microscopy, parts)
    [level] = slide.attributes["levels"]
    assert level["numberOfFrames"] == 25
    [concatenation] = level["concatenations"]
    assert concatenation["inConcatenationNumbers"] == [1, 2]
    assert concatenation["complete"] is True
    codes = [m.code for m in slide.messages]
    assert "CONCATENATION_MERGED" in codes
    assert "TILED_FULL_FRAME_COUNT" not in codes
    with content, WsiDicom.open(native_slide) as full:
        for row in range(5):
            for column in range(5):
                assert np.array_equal(
                    _pixels(content.read_tile(0, column, row)),
                    _pixels(full.read_tile(0, (column, row))),
                )


def test_export_writes_the_thumbnail_as_png(microscopy: Any, tmp_path: Path) -> None:
    folder = require_corpus("toolmade", "sm", "wsidicom_pyramid_camelyon")
    service = microscopy.scan([folder])
    [slide] = microscopy.slides(service)
    [written] = service.export(slide, tmp_path)
    assert written == tmp_path / f"{slide.series_instance_uid}_thumbnail.png"
    with Image.open(written) as image, service.load(slide) as content:
        assert image.format == "PNG"
        assert np.array_equal(_pixels(image), _pixels(content.read_thumbnail()))
    with pytest.raises(ExportError, match="exists"):
        service.export(slide, tmp_path)
    assert service.export(slide, tmp_path, overwrite=True) == [written]


def test_export_a_level_or_a_region(microscopy: Any, tmp_path: Path) -> None:
    folder = require_corpus("toolmade", "sm", "wsidicom_pyramid_camelyon")
    [slide] = microscopy.slides(microscopy.scan([folder]))
    [level_file] = export_png(slide, tmp_path / "level2.png", level=2)
    [region_file] = export_png(slide, tmp_path, region=(10, 20, 64, 32), level=0)
    with WsiDicom.open(folder) as reference:
        with Image.open(level_file) as image:
            assert image.size == (288, 175)
            theirs = reference.read_region((0, 0), 2, (288, 175))
            assert np.array_equal(_pixels(image), _pixels(theirs))
        with Image.open(region_file) as image:
            assert region_file.name.endswith("_level0_10_20_64x32.png")
            theirs = reference.read_region((10, 20), 0, (64, 32))
            assert np.array_equal(_pixels(image), _pixels(theirs))
    with pytest.raises(ExportError, match="level 7 does not exist"):
        export_png(slide, tmp_path / "x.png", level=7)

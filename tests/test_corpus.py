"""Every corpus file under image/, dicomdir/, broken/ and dicomweb/ gives the display
sets a reader expects: their number, plugin keys and instance counts, exactly.

Where a plugin of this repository handles a SOP class, the expected key is the
plugin's when it is installed and ``unsupported`` when it is not, so the same table
holds for the core alone and for every plugin combination.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from displaysets import scan
from displaysets.records import DisplaySet
from displaysets.service import DisplaySetService
from displaysets.testing import require_corpus
from factories import installed

STACK = "stack"
UNSUPPORTED = "unsupported"


def html() -> str:
    return "html" if installed("dicom-html") else UNSUPPORTED


def seg() -> str:
    return "seg" if installed("dicom-seg") else UNSUPPORTED


def microscopy() -> str:
    return "microscopy" if installed("dicom-microscopy") else UNSUPPORTED


# file -> [(plugin key, number of instances)] for each display set, in any order
IMAGE_FILES = {
    "barre_US_Explicit_Big_RGB.dcm": [(STACK, 1)],
    "cornerstone_IM-0001-0001_mr_j2k.dcm": [(STACK, 1)],
    "cornerstone_TestPattern_JPEG-Baseline_YBR422.dcm": [(STACK, 1)],
    "dcmjs_fragment-multiframe-test_mr.dcm": [(STACK, 1)],
    "dcmjs_undefined-length-test_us.dcm": [(STACK, 1)],
    # MR Spectroscopy has no pixel data; not an image
    "dcmjs_zero-length-US_mr_spectroscopy.dcm": [(UNSUPPORTED, 1)],
    "dcmqi_pm-example-slice_mr.dcm": [(STACK, 1)],
    "dcmqi_sr-example_rwvm.dcm": [(UNSUPPORTED, 1)],
    "dicomparser_CT0012_enhanced_ct_jpeg-ls_fragmented_nobot.dcm": [(STACK, 1)],
    "dicomparser_CT1_UNC_explicit_big_endian.dcm": [(STACK, 1)],
    "dicompyler_ct.0.dcm": [(STACK, 1)],
    "dicompyler_rtss.dcm": [(UNSUPPORTED, 1)],
    "highdicom_dx_image.dcm": [(STACK, 1)],
    "msft_XRJPEGProcess1_sc.dcm": [(STACK, 1)],
    "pydicom-data_MR-SIEMENS-DICOM-WithOverlays.dcm": [(STACK, 1)],
    "pydicom-data_emri_small.dcm": [(STACK, 1)],
    "pydicom-data_gdcm-US-ALOKA-16.dcm": [(STACK, 1)],
    "pydicom-data_mlut_18.dcm": [(STACK, 1)],
    "pydicom-data_parametric_map_float.dcm": [(STACK, 1)],
    "pydicom-data_vlut_04.dcm": [(STACK, 1)],
    "pydicom_CT_small.dcm": [(STACK, 1)],
    "pydicom_JPEG2000.dcm": [(STACK, 1)],
    "pydicom_MR_small.dcm": [(STACK, 1)],
    "pydicom_SC_rgb_rle_2frame.dcm": [(STACK, 1)],
    "pydicom_examples_ybr_color.dcm": [(STACK, 1)],
    "pydicom_image_dfl.dcm": [(STACK, 1)],
    "pydicom_rtdose.dcm": [(STACK, 1)],
    "pydicom_rtplan.dcm": [(UNSUPPORTED, 1)],
    "pydicom_waveform_ecg.dcm": [(UNSUPPORTED, 1)],
    "tcia_prostate-mri_mr.dcm": [(STACK, 1)],
    "weasis_NeurosurgeryPlan_hanging_protocol.dcm": [(UNSUPPORTED, 1)],
    "weasis_imageForPrLUTs.dcm": [(STACK, 1)],
    "weasis_jpeg2000-multiframe-multifragments_enhanced_mr.dcm": [(STACK, 1)],
    "weasis_palette-multiframe-jpeg-ls_us.dcm": [(STACK, 1)],
    "weasis_prLUTs_gsps.dcm": [(UNSUPPORTED, 1)],
}

# file -> (display sets, problem codes)
BROKEN_FILES = {
    "barre_OT_Implicit_Little_Headless.dcm": ([(STACK, 1)], []),
    "libdicom_generated_encapsulated_empty_bot_2_to_1.dcm": ([(STACK, 1)], []),
    "msft_Input1_private_sop_class.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom-data_bad_sequence.dcm": ([(STACK, 1)], []),
    "pydicom-data_emri_small_big_endian.dcm": ([(STACK, 1)], []),
    "pydicom_ExplVR_BigEndNoMeta.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_ExplVR_LitEndNoMeta.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_GDCMJ2K_TextGBR.dcm": ([(STACK, 1)], []),
    "pydicom_J2K_pixelrep_mismatch.dcm": ([(STACK, 1)], []),
    "pydicom_MR_small_implicit.dcm": ([(STACK, 1)], []),
    "pydicom_MR_truncated.dcm": ([(STACK, 1)], ["TRUNCATED"]),
    "pydicom_SC_rgb_small_odd.dcm": ([(STACK, 1)], []),
    # a CT SOP class from File Meta, but only a private sequence and no pixels
    "pydicom_UN_sequence.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_badVR.dcm": ([(STACK, 1)], []),
    "pydicom_empty_charset_LEI.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_meta_missing_tsyntax.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_nested_priv_SQ.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_no_meta.dcm": ([(STACK, 1)], []),
    "pydicom_no_meta_group_length.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_priv_SQ.dcm": ([(UNSUPPORTED, 1)], []),
    "pydicom_rtplan_truncated.dcm": ([(UNSUPPORTED, 1)], ["TRUNCATED"]),
}


def dicomweb_files() -> dict[str, list[tuple[str, int]]]:
    return {
        "dcmjs_sample-sr.json": [(html(), 1)],
        "dicomweb-client_retrieve_instance_metadata.json": [(STACK, 1)],
        # four QIDO-RS instance answers, each in its own series
        "dicomweb-client_search_for_instances.json": [(STACK, 1)] * 4,
        # study and series level answers hold no instance
        "dicomweb-client_search_for_series.json": [],
        "dicomweb-client_search_for_studies.json": [],
        # a 5-instance slide, its segmentation and a parametric map
        "dmv_C3N-01016-22_wrapped.json": [(microscopy(), 5), (seg(), 1), (STACK, 1)],
        "dmv_metadata_wsi.json": [(microscopy(), 1)],
        # eleven slide instances without Study/Series Instance UIDs: one series each
        "ezwsi_sample_instances_wrapped.json": [(microscopy(), 1)] * 11,
        "pydicom_test1.json": [(STACK, 1)],
    }


def shape(display_sets: list[DisplaySet]) -> list[tuple[str, int]]:
    return sorted((d.plugin, d.num_instances) for d in display_sets)


def assert_each_instance_once(service: DisplaySetService) -> None:
    """Every instance read is covered by exactly one display set (by identity: two
    conflicting copies of one SOP Instance UID are two instances)."""
    counts = collections.Counter(
        id(i) for d in service.display_sets for i in d.instances
    )
    read = {id(i) for i in service.instances}
    assert set(counts) == read
    assert [n for n in counts.values() if n != 1] == []


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(IMAGE_FILES))
def test_image_file(name: str) -> None:
    service = scan(require_corpus("image", name))
    assert shape(service.display_sets) == sorted(IMAGE_FILES[name])
    assert_each_instance_once(service)


def test_the_image_table_covers_every_image_file() -> None:
    folder = require_corpus("image")
    assert sorted(p.name for p in folder.iterdir()) == sorted(IMAGE_FILES)


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_broken_file(name: str) -> None:
    service = scan(require_corpus("broken", name))
    expected, problems = BROKEN_FILES[name]
    assert shape(service.display_sets) == sorted(expected)
    assert [p.code for p in service.problems] == problems
    assert all(p.location.endswith(name) for p in service.problems)
    assert_each_instance_once(service)


def test_the_broken_table_covers_every_broken_file() -> None:
    folder = require_corpus("broken")
    assert sorted(p.name for p in folder.iterdir()) == sorted(BROKEN_FILES)


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(dicomweb_files()))
def test_dicomweb_json_file(name: str) -> None:
    service = scan(require_corpus("dicomweb", name))
    assert shape(service.display_sets) == sorted(dicomweb_files()[name])
    assert [p for p in service.problems if p.severity.value == "error"] == []
    assert_each_instance_once(service)


def test_the_dicomweb_table_covers_every_json_file() -> None:
    folder = require_corpus("dicomweb")
    assert sorted(p.name for p in folder.iterdir()) == sorted(dicomweb_files())


DICOMDIR_TREE_SHAPE = sorted([(STACK, 1)] * 22 + [(STACK, 4), (STACK, 5)])


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "DICOMDIR",
        "DICOMDIR-bigEnd",
        "DICOMDIR-implicit",
        "DICOMDIR-nooffset",
        "DICOMDIR-nopatient",
        "DICOMDIR-reordered",
    ],
)
def test_every_dicomdir_variant_lists_the_same_31_instances(name: str) -> None:
    service = scan(require_corpus("dicomdir", "pydicom_dicomdirtests", name))
    assert len(service.instances) == 31
    assert shape(service.display_sets) == DICOMDIR_TREE_SHAPE
    assert service.problems == []
    assert_each_instance_once(service)


@pytest.mark.corpus
def test_the_dicomdir_folder_gives_the_same_display_sets_as_its_dicomdir() -> None:
    folder = require_corpus("dicomdir", "pydicom_dicomdirtests")
    by_folder = scan(folder).display_sets
    by_dicomdir = scan(folder / "DICOMDIR").display_sets
    assert [d.display_set_instance_uid for d in by_folder] == [
        d.display_set_instance_uid for d in by_dicomdir
    ]
    assert shape(by_folder) == DICOMDIR_TREE_SHAPE


@pytest.mark.corpus
def test_the_ct_stack_of_the_dicomdir_tree_is_sorted_and_flagged() -> None:
    folder = require_corpus("dicomdir", "pydicom_dicomdirtests", "77654033", "CT2")
    (display_set,) = scan(folder).display_sets
    names = [Path(i.location).name for i in display_set.instances]
    assert names == ["17106", "17136", "17166", "17196"]
    assert display_set.attributes["isReconstructable"] is False
    assert display_set.attributes["reconstructionIssues"] == [
        # z = -99.48, 103.02, 104.27, 105.52: instance numbers 19 to 179 are absent
        "161 slice(s) missing from a regular stack"
    ]


@pytest.mark.corpus
def test_the_whole_corpus_puts_every_instance_in_one_display_set() -> None:
    service = scan(require_corpus())
    assert_each_instance_once(service)
    assert len(service.display_sets) > 100


@pytest.mark.corpus
def test_an_unsupported_presentation_state_points_at_its_image() -> None:
    gsps = require_corpus("image", "weasis_prLUTs_gsps.dcm")
    image = require_corpus("image", "weasis_imageForPrLUTs.dcm")
    display_sets = scan([gsps, image]).display_sets
    by_plugin = {d.plugin: d for d in display_sets}
    (reference,) = by_plugin["unsupported"].references
    assert (reference.kind.value, reference.uid, reference.status.value) == (
        "SOPInstanceUID",
        "1.2.276.0.7230010.3.200.6.3.1",
        "resolved",
    )
    assert reference.display_set_instance_uids == (
        by_plugin["stack"].display_set_instance_uid,
    )


@pytest.mark.corpus
def test_an_rt_structure_set_points_at_its_ct_series_or_says_it_cannot() -> None:
    rtss = require_corpus("image", "dicompyler_rtss.dcm")
    ct = require_corpus("image", "dicompyler_ct.0.dcm")
    together = {d.plugin: d for d in scan([rtss, ct]).display_sets}
    (reference,) = together["unsupported"].references
    assert (reference.kind.value, reference.uid, reference.status.value) == (
        "SeriesInstanceUID",
        "2.16.840.1.113662.2.12.0.3057.1241703565.43",
        "resolved",
    )
    assert reference.display_set_instance_uids == (
        together["stack"].display_set_instance_uid,
    )
    (alone,) = scan(rtss).display_sets
    assert alone.references[0].status.value == "unresolved"
    assert "REFERENCES_UNRESOLVED" in [m.code for m in alone.messages]

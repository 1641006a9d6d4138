"""References from segmentations to their source images, resolved by the core."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from displaysets import DisplaySet, DisplaySetService, ReferenceKind, ReferenceStatus
from pydicom.dataset import Dataset

Scan = Callable[[Sequence[Path]], DisplaySetService]
One = Callable[[Sequence[Path]], DisplaySet]
Rewrite = Callable[[str, Callable[[Dataset], None]], Path]

CT2 = ("dicomdir", "pydicom_dicomdirtests", "77654033", "CT2")


def _targets(service: DisplaySetService, seg_name: str) -> dict[str, set[str]]:
    """For each reference kind of one SEG, the file names its targets cover."""
    by_uid = {d.display_set_instance_uid: d for d in service.display_sets}
    (seg,) = [
        d
        for d in service.display_sets
        if d.plugin == "seg" and Path(d.instances[0].location).name == seg_name
    ]
    found: dict[str, set[str]] = {}
    for reference in seg.references:
        assert reference.status is ReferenceStatus.RESOLVED, reference
        for uid in reference.display_set_instance_uids:
            names = {Path(i.location).name for i in by_uid[uid].instances}
            found.setdefault(reference.kind.value, set()).update(names)
    assert not [m for m in seg.messages if m.code == "REFERENCES_UNRESOLVED"]
    return found


@pytest.mark.parametrize(
    "name",
    [
        "highdicom_seg_image_ct_binary.dcm",
        "highdicom_seg_image_ct_binary_overlap.dcm",
        "highdicom_seg_image_ct_true_fractional.dcm",
    ],
)
def test_ct_segmentations_resolve_to_the_ct2_stack(
    scan_paths: Scan, corpus: Path, name: str
) -> None:
    ct2 = corpus.joinpath(*CT2)
    service = scan_paths([corpus / "seg" / name, ct2])
    stack = {p.name for p in ct2.iterdir()}
    assert _targets(service, name) == {
        "SeriesInstanceUID": stack,
        "SOPInstanceUID": stack,
    }
    (ct,) = [d for d in service.display_sets if d.plugin == "stack"]
    assert ct.num_instances == 4


@pytest.mark.parametrize(
    "name",
    [
        "dcmqi_liver_seg.dcm",
        "pydicom-data_liver_rle.dcm",
        "pydicom-data_liver_deflate.dcm",
        "pydicom-data_liver_nonbyte_aligned.dcm",
    ],
)
def test_liver_segmentations_resolve_to_their_source_ct(
    scan_paths: Scan, seg_dir: Path, name: str
) -> None:
    service = scan_paths([seg_dir / name, seg_dir / "dcmqi_liver_source_ct"])
    expected = {"01.dcm", "02.dcm", "03.dcm"}
    assert _targets(service, name) == {
        "SeriesInstanceUID": expected,
        "SOPInstanceUID": expected,
    }


@pytest.mark.parametrize(
    "name",
    [
        "highdicom_seg_image_sm_numbers.dcm",
        "highdicom_seg_image_sm_control_labelmap.dcm",
    ],
)
def test_slide_segmentations_resolve_to_the_slide_image(
    scan_paths: Scan, corpus: Path, name: str
) -> None:
    service = scan_paths(
        [
            corpus / "seg" / name,
            corpus / "sm" / "highdicom_sm_image.dcm",
            corpus / "sm" / "wsi2dcm_jpeg.dcm",
        ]
    )
    assert _targets(service, name) == {
        "SeriesInstanceUID": {"highdicom_sm_image.dcm"},
        "SOPInstanceUID": {"highdicom_sm_image.dcm"},
    }


@pytest.mark.parametrize(
    "name",
    [
        "highdicom_seg_image_ct_binary.dcm",
        "dcmqi_liver_seg.dcm",
        "highdicom_seg_image_sm_numbers.dcm",
    ],
)
def test_without_the_sources_references_are_unresolved(
    scan_one: One, seg_dir: Path, name: str
) -> None:
    display_set = scan_one([seg_dir / name])
    assert display_set.references
    assert {r.status for r in display_set.references} == {ReferenceStatus.UNRESOLVED}
    assert all(r.display_set_instance_uids == () for r in display_set.references)
    codes = [m.code for m in display_set.messages]
    assert codes.count("REFERENCES_UNRESOLVED") == 1


def test_source_images_from_the_functional_groups_when_no_referenced_series(
    scan_paths: Scan, seg_dir: Path, rewrite: Rewrite
) -> None:
    def drop(dataset: Dataset) -> None:
        del dataset.ReferencedSeriesSequence

    path = rewrite("dcmqi_liver_seg.dcm", drop)
    service = scan_paths([path, seg_dir / "dcmqi_liver_source_ct"])
    (seg,) = [d for d in service.display_sets if d.plugin == "seg"]
    assert (
        seg.attributes["referencesFoundIn"] == "SourceImageSequence (functional groups)"
    )
    assert {r.kind for r in seg.references} == {ReferenceKind.SOP_INSTANCE}
    assert len(seg.references) == 3
    assert {r.status for r in seg.references} == {ReferenceStatus.RESOLVED}
    (ct,) = [d for d in service.display_sets if d.plugin == "stack"]
    assert {u for r in seg.references for u in r.display_set_instance_uids} == {
        ct.display_set_instance_uid
    }


def test_shared_functional_groups_source_image(scan_one: One, rewrite: Rewrite) -> None:
    def move_to_shared(dataset: Dataset) -> None:
        del dataset.ReferencedSeriesSequence
        derivation = dataset.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence
        for item in dataset.PerFrameFunctionalGroupsSequence:
            del item.DerivationImageSequence
        dataset.SharedFunctionalGroupsSequence[0].DerivationImageSequence = derivation

    display_set = scan_one([rewrite("dcmqi_liver_seg.dcm", move_to_shared)])
    assert display_set.attributes["referencesFoundIn"] == (
        "SourceImageSequence (functional groups)"
    )
    assert [r.uid for r in display_set.references] == [
        "1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23433.1"
    ]


def test_image_level_source_image_sequence(scan_one: One, seg_dir: Path) -> None:
    display_set = scan_one([seg_dir / "ispy1_MR_UnspecifiedLength_fractional_seg.dcm"])
    assert display_set.attributes["referencesFoundIn"] == (
        "DerivationImageSequence/SourceImageSequence (image)"
    )
    assert len(display_set.references) == 54
    assert {r.kind for r in display_set.references} == {ReferenceKind.SOP_INSTANCE}


def test_frame_of_reference_is_the_last_fallback(
    scan_paths: Scan, seg_dir: Path, rewrite: Rewrite
) -> None:
    def drop_all(dataset: Dataset) -> None:
        del dataset.ReferencedSeriesSequence
        for item in dataset.PerFrameFunctionalGroupsSequence:
            del item.DerivationImageSequence

    path = rewrite("dcmqi_liver_seg.dcm", drop_all)
    service = scan_paths([path, seg_dir / "dcmqi_liver_source_ct"])
    (seg,) = [d for d in service.display_sets if d.plugin == "seg"]
    assert seg.attributes["referencesFoundIn"] == "FrameOfReferenceUID"
    (reference,) = seg.references
    assert reference.kind is ReferenceKind.FRAME_OF_REFERENCE
    assert (
        reference.uid == "1.2.392.200103.20080913.113635.3.2009.6.22.21.44.34.23882.1"
    )
    (ct,) = [d for d in service.display_sets if d.plugin == "stack"]
    assert reference.display_set_instance_uids == (ct.display_set_instance_uid,)
    assert "NO_SOURCE_REFERENCES" in [m.code for m in seg.messages]

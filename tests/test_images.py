"""The default image handler: stacks, orientation splits, reconstructability."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from displaysets import scan
from displaysets.testing import isolated_host
from factories import AXIAL, CT_IMAGE, DX_IMAGE, ENHANCED_CT, SAGITTAL
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence


def slices(
    write_dicom: Callable[..., Path], positions: list[float], **kwargs: object
) -> list[Path]:
    """Axial slices at the given z positions, instance numbers in file order."""
    return [
        write_dicom(
            ImageOrientationPatient=kwargs.get("orientation", AXIAL),
            ImagePositionPatient=[0.0, 0.0, z],
            InstanceNumber=number,
        )
        for number, z in enumerate(positions, 1)
    ]


def test_a_stack_is_sorted_by_position_along_the_normal(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    paths = slices(write_dicom, [30.0, 10.0, 20.0, 0.0])
    (display_set,) = scan(tmp_path, host=isolated_host()).display_sets
    by_uid = {i.sop_instance_uid: i for i in display_set.instances}
    order = [
        by_uid[u].dataset.ImagePositionPatient[2] for u in display_set.sop_instance_uids
    ]
    assert order == [0.0, 10.0, 20.0, 30.0]
    assert display_set.attributes["isReconstructable"] is True
    assert display_set.attributes["reconstructionIssues"] == []
    assert display_set.attributes["sliceSpacing"] == 10.0
    assert display_set.num_instances == len(paths)


def test_a_missing_slice_makes_a_stack_not_reconstructable(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    slices(write_dicom, [0.0, 2.5, 5.0, 10.0, 12.5])
    (display_set,) = scan(tmp_path, host=isolated_host()).display_sets
    assert display_set.attributes["isReconstructable"] is False
    assert display_set.attributes["reconstructionIssues"] == [
        "1 slice(s) missing from a regular stack"
    ]


def test_irregular_spacing_is_named(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    slices(write_dicom, [0.0, 1.0, 3.5, 4.5])
    (display_set,) = scan(tmp_path, host=isolated_host()).display_sets
    assert display_set.attributes["reconstructionIssues"] == [
        "irregular slice spacing (1 to 2.5 mm)"
    ]


def test_images_of_different_sizes_are_split_by_size(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    slices(write_dicom, [0.0, 1.0])
    write_dicom(
        ImageOrientationPatient=AXIAL,
        ImagePositionPatient=[0.0, 0.0, 2.0],
        Rows=4,
        Columns=4,
        PixelData=b"\x00\x00" * 16,
    )
    display_sets = scan(tmp_path, host=isolated_host()).display_sets
    assert [d.num_instances for d in display_sets] == [2, 1]
    assert [m.text for m in display_sets[1].messages] == [
        "series 1.2.3.4.1 mixes 2 image sizes; this display set holds the 1 image(s) "
        "of 4 x 4"
    ]
    assert display_sets[0].attributes["isReconstructable"] is True


def test_a_multi_echo_series_is_split_into_one_stack_per_echo(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    for echo in (2, 1):
        for number, z in enumerate([0.0, 5.0, 10.0], 1):
            write_dicom(
                ImageOrientationPatient=AXIAL,
                ImagePositionPatient=[0.0, 0.0, z],
                InstanceNumber=number + 10 * echo,
                EchoNumbers=echo,
            )
    display_sets = scan(tmp_path, host=isolated_host()).display_sets
    assert [d.num_instances for d in display_sets] == [3, 3]
    assert [d.attributes["isReconstructable"] for d in display_sets] == [True, True]
    assert [m.code for d in display_sets for m in d.messages] == [
        "SPLIT_BY_ECHO_NUMBERS",
        "SPLIT_BY_ECHO_NUMBERS",
    ]
    assert display_sets[0].messages[0].text == (
        "series 1.2.3.4.1 repeats image positions; split by EchoNumbers: this display "
        "set holds the 3 image(s) with EchoNumbers 1"
    )


def test_repeated_positions_without_a_telling_attribute_stay_one_stack(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    for _ in range(2):
        write_dicom(ImageOrientationPatient=AXIAL, ImagePositionPatient=[0.0, 0.0, 0.0])
    (display_set,) = scan(tmp_path, host=isolated_host()).display_sets
    assert display_set.attributes["reconstructionIssues"] == [
        "several images share one position"
    ]


def test_a_series_mixing_orientations_is_split_with_a_message(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    slices(write_dicom, [0.0, 5.0, 10.0])
    write_dicom(ImageOrientationPatient=SAGITTAL, ImagePositionPatient=[0.0, 0.0, 0.0])
    display_sets = scan(tmp_path, host=isolated_host()).display_sets
    assert [d.num_instances for d in display_sets] == [3, 1]
    assert [m.text for m in display_sets[1].messages] == [
        "series 1.2.3.4.1 mixes 2 image orientations; this display set holds the "
        "1 sagittal image(s)"
    ]
    assert display_sets[0].attributes["isReconstructable"] is True
    assert display_sets[1].attributes["reconstructionIssues"] == ["single image"]


def test_projection_images_are_one_display_set_each(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    for _ in range(3):
        write_dicom(sop_class_uid=DX_IMAGE, Modality="DX")
    display_sets = scan(tmp_path, host=isolated_host()).display_sets
    assert [d.num_instances for d in display_sets] == [1, 1, 1]
    assert {d.modality for d in display_sets} == {"DX"}


def _enhanced(positions: list[float]) -> dict[str, object]:
    frames = []
    for z in positions:
        plane = Dataset()
        plane.ImagePositionPatient = [0.0, 0.0, z]
        item = Dataset()
        item.PlanePositionSequence = Sequence([plane])
        frames.append(item)
    orientation = Dataset()
    orientation.ImageOrientationPatient = AXIAL
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([orientation])
    return {
        "NumberOfFrames": len(positions),
        "PerFrameFunctionalGroupsSequence": Sequence(frames),
        "SharedFunctionalGroupsSequence": Sequence([shared]),
        "PixelData": b"\x00\x01" * 4 * len(positions),
    }


def test_each_multiframe_instance_is_its_own_display_set(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom(
        sop_class_uid=ENHANCED_CT, InstanceNumber=1, **_enhanced([0.0, 1.0, 2.0])
    )
    write_dicom(
        sop_class_uid=ENHANCED_CT, InstanceNumber=2, **_enhanced([0.0, 1.0, 5.0])
    )
    display_sets = scan(tmp_path, host=isolated_host()).display_sets
    assert [(d.num_instances, d.num_frames) for d in display_sets] == [(1, 3), (1, 3)]
    assert [d.attributes["isMultiFrame"] for d in display_sets] == [True, True]
    assert [d.attributes["reconstructionIssues"] for d in display_sets] == [
        [],
        ["frame positions are not evenly spaced"],
    ]


def test_images_without_position_sort_by_instance_number(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    for number in (3, 1, 2):
        write_dicom(sop_instance_uid=f"1.2.3.{number}", InstanceNumber=number)
    (display_set,) = scan(tmp_path, host=isolated_host()).display_sets
    assert display_set.sop_instance_uids == ("1.2.3.1", "1.2.3.2", "1.2.3.3")
    assert display_set.attributes["reconstructionIssues"] == [
        "images lack ImagePositionPatient or ImageOrientationPatient"
    ]
    assert display_set.sop_class_uid == CT_IMAGE

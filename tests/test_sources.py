"""Local sources: folders, DICOMDIR, DICOM JSON and files real users meet."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from displaysets import scan
from displaysets.sources.dicomdir import DicomdirSource
from displaysets.testing import isolated_host, require_corpus
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian


def write_dicomdir(path: Path, file_ids: list[list[str]]) -> Path:
    """A DICOMDIR whose IMAGE records reference ``file_ids`` (no offsets needed)."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.99"
    dataset.FileSetID = "TEST"
    records = []
    for file_id in file_ids:
        record = Dataset()
        record.DirectoryRecordType = "IMAGE"
        record.ReferencedFileID = file_id
        records.append(record)
    dataset.DirectoryRecordSequence = Sequence(records)
    dataset.save_as(path, enforce_file_format=True)
    return path


def test_a_dicomdir_resolves_file_ids_ignoring_case(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom("IMAGES/IM0001", sop_instance_uid="1.2.3.1")
    write_dicom("IMAGES/im0002", sop_instance_uid="1.2.3.2")
    dicomdir = write_dicomdir(
        tmp_path / "DICOMDIR", [["images", "im0001"], ["IMAGES", "IM0002"]]
    )
    service = scan(dicomdir, host=isolated_host())
    assert sorted(i.sop_instance_uid for i in service.instances) == [
        "1.2.3.1",
        "1.2.3.2",
    ]
    assert service.problems == []


def test_a_dicomdir_never_reads_outside_its_folder(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom("outside.dcm", sop_instance_uid="1.2.3.7")
    media = tmp_path / "media"
    media.mkdir()
    (media / "escape").symlink_to(tmp_path / "outside.dcm")
    dicomdir = write_dicomdir(media / "DICOMDIR", [["..", "outside.dcm"], ["escape"]])
    source = DicomdirSource(dicomdir)
    problems: list[str] = []
    assert source.referenced_files(lambda p: problems.append(p.text)) == []
    assert problems == [
        "directory record 1 (..\\outside.dcm): "
        "unsafe component '..' in Referenced File ID",
        "directory record 2 (escape): "
        "referenced file resolves outside the DICOMDIR's folder",
    ]


def test_a_missing_referenced_file_is_reported(tmp_path: Path) -> None:
    dicomdir = write_dicomdir(tmp_path / "DICOMDIR", [["GONE"]])
    service = scan(dicomdir, host=isolated_host())
    assert [(p.code, p.text) for p in service.problems] == [
        (
            "UNRESOLVED_FILE_ID",
            "directory record 1 (GONE): referenced file does not exist",
        )
    ]


def test_a_dicomdir_in_a_scanned_folder_is_not_an_instance(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom("IM1", sop_instance_uid="1.2.3.1")
    write_dicomdir(tmp_path / "DICOMDIR", [["IM1"]])
    service = scan(tmp_path, host=isolated_host())
    assert [i.sop_instance_uid for i in service.instances] == ["1.2.3.1"]
    assert service.sources[0].dicomdirs_skipped == 1  # type: ignore[attr-defined]


def test_a_file_named_dcm_that_is_not_dicom_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "scan.dcm"
    path.write_bytes(bytes(range(256)) * 16)
    service = scan(tmp_path, host=isolated_host())
    assert [
        (p.location, p.code, p.severity.value, p.text) for p in service.problems
    ] == [
        (
            str(path),
            "UNREADABLE",
            "error",
            "named as a DICOM file but holds no DICOM data elements",
        )
    ]


def test_non_dicom_files_are_skipped_and_counted(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom()
    (tmp_path / "notes.txt").write_text("not DICOM")
    (tmp_path / "empty").write_bytes(b"")
    service = scan(tmp_path, host=isolated_host())
    assert len(service.instances) == 1
    assert service.sources[0].non_dicom_skipped == 2
    assert service.problems == []


def test_a_broken_symbolic_link_is_reported_not_fatal(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    write_dicom()
    (tmp_path / "gone.dcm").symlink_to(tmp_path / "nowhere.dcm")
    service = scan(tmp_path, host=isolated_host())
    assert len(service.instances) == 1
    assert [(p.code, p.severity.value, p.text) for p in service.problems] == [
        (
            "BROKEN_LINK",
            "warning",
            f"broken symbolic link to {tmp_path / 'nowhere.dcm'}",
        )
    ]


@pytest.mark.parametrize(
    ("cut", "text"),
    [
        (
            500,
            "file ends inside SOPInstanceUID: 18 of 48 bytes present; "
            "the element is left out",
        ),
        (1998, "file ends inside a data element header (4 bytes of it)"),
    ],
)
def test_a_cut_inside_an_early_value_or_a_header_is_truncation(
    tmp_path: Path, cut: int, text: str
) -> None:
    data = require_corpus("image", "pydicom_CT_small.dcm").read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[:cut])
    service = scan(path, host=isolated_host())
    assert [(p.code, p.text) for p in service.problems] == [("TRUNCATED", text)]
    # the cut-down UID is not used: File Meta's MediaStorageSOPInstanceUID stands in
    (instance,) = service.instances
    expected = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
    assert instance.sop_instance_uid == expected


def test_an_icc_profile_is_not_mistaken_for_dicom(tmp_path: Path) -> None:
    path = tmp_path / "profile.icc"
    path.write_bytes(
        b"\x00\x00\x22\x08lcms\x02\x10\x00\x00mntrRGB XYZ " + b"\x00" * 200
    )
    service = scan(path, host=isolated_host())
    assert service.instances == []
    assert service.problems == []
    assert service.sources[0].non_dicom_skipped == 1


def test_a_json_object_with_one_bad_key_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps([_json_instance(zzzz={"vr": "LO", "Value": ["x"]})]))
    service = scan(path, host=isolated_host())
    (instance,) = service.instances
    assert instance.sop_instance_uid == "1.2.3.4.5"
    assert [p.text for p in service.problems] == [
        "zzzz: not a DICOM JSON tag key; attribute dropped"
    ]


def test_deeply_nested_json_is_reported_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100000 + "]" * 100000)
    service = scan(path, host=isolated_host())
    assert [(p.code, p.text) for p in service.problems] == [
        ("UNREADABLE", "JSON nested too deeply to be DICOM JSON")
    ]
    assert "Traceback" not in caplog.text


def test_an_element_with_an_unknown_vr_costs_only_its_value(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_dicom(SeriesNumber=7, InstanceNumber=3)
    data = path.read_bytes()
    header = b"\x20\x00\x11\x00IS"  # (0020,0011) Series Number, explicit VR
    assert data.count(header) == 1
    path.write_bytes(data.replace(header, b"\x20\x00\x11\x00\x49\xf1"))
    service = scan(path, host=isolated_host())
    (display_set,) = service.display_sets
    assert display_set.plugin == "stack"
    assert display_set.series_number is None
    assert display_set.instances[0].instance_number == 3


def test_a_truncated_file_is_read_as_far_as_it_goes_and_reported(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_dicom(PixelData=b"\x00" * 2000, Rows=10, Columns=100)
    data = path.read_bytes()
    path.write_bytes(data[:-500])
    service = scan(path, host=isolated_host())
    (problem,) = service.problems
    assert (problem.location, problem.code, problem.severity.value) == (
        str(path),
        "TRUNCATED",
        "error",
    )
    assert problem.text == "file ends inside PixelData: 1500 of 2000 bytes present"
    (display_set,) = service.display_sets
    assert [m.code for m in display_set.messages] == ["TRUNCATED"]


def test_garbage_after_a_dicm_prefix_is_reported_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "bad.dcm"
    path.write_bytes(
        b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff" + b"\x01" * 7
    )
    service = scan(path, host=isolated_host())
    assert [(p.location, p.code) for p in service.problems] == [
        (str(path), "UNREADABLE")
    ]
    assert service.problems[0].text == "no data elements could be read"


def test_input_files_are_never_written(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    paths = [write_dicom() for _ in range(3)]
    before = {
        p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in paths
    }
    service = scan(tmp_path, host=isolated_host())
    for display_set in service.display_sets:
        assert service.load(display_set).dataset(0).PixelData == b"\x00\x01" * 4
    after = {
        p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in paths
    }
    assert after == before


def _json_instance(**overrides: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.4.5"]},
        "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
        "0020000E": {"vr": "UI", "Value": ["1.2.3.4"]},
        "00080060": {"vr": "CS", "Value": ["CT"]},
        "00280010": {"vr": "US", "Value": [512]},
        "00280011": {"vr": "US", "Value": [512]},
        "00280100": {"vr": "US", "Value": [16]},
    }
    obj.update(overrides)
    return obj


def test_near_valid_dicom_json_loses_only_the_bad_attribute(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(
        json.dumps(
            [
                _json_instance(
                    **{
                        "00200013": {"vr": "IS", "Value": 7},
                        "00100010": {"Value": [{"Alphabetic": "Doe^Jane"}]},
                        "00180050": {"vr": "DS", "Value": [""]},
                        "00280030": {"vr": "DS", "Value": ["not-a-number", "1"]},
                    }
                )
            ]
        )
    )
    service = scan(path, host=isolated_host())
    (instance,) = service.instances
    assert instance.dataset.InstanceNumber == 7
    assert str(instance.dataset.PatientName) == "Doe^Jane"
    assert "SliceThickness" in instance.dataset
    assert instance.dataset.SliceThickness is None
    assert "PixelSpacing" not in instance.dataset
    notes = [p.text for p in service.problems]
    assert notes[:3] == [
        "(0020,0013): Value is not an array; wrapped in one",
        "(0010,0010): missing vr; used PN from the data dictionary",
        "(0018,0050): empty DS value dropped",
    ]
    assert notes[3].startswith("(0028,0030): invalid DS value (")
    assert {p.code for p in service.problems} == {"INVALID_ATTRIBUTE"}
    (display_set,) = service.display_sets
    assert display_set.plugin == "stack"


def test_dicom_json_study_level_answers_are_not_instances(tmp_path: Path) -> None:
    path = tmp_path / "studies.json"
    path.write_text(json.dumps([{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}]))
    service = scan(path, host=isolated_host())
    assert service.instances == []
    assert service.problems == []


def test_invalid_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"00080016": {"vr": "UI", "Val')
    service = scan(path, host=isolated_host())
    assert [(p.code, p.location) for p in service.problems] == [
        ("UNREADABLE", str(path))
    ]
    assert service.problems[0].text.startswith("not valid JSON: ")

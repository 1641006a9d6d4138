"""The command line: scan, plugins, export, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from displaysets.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def first_display_set_uid(capsys: pytest.CaptureFixture[str], source: Path) -> str:
    """The displaySetInstanceUID of the first display set ``scan --json`` prints."""
    _, out, _ = run(capsys, "scan", "--json", str(source))
    return str(json.loads(out)["displaySets"][0]["displaySetInstanceUID"])


def test_scan_prints_a_table_and_exits_0(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dicom(SeriesDescription="Head")
    code, out, err = run(capsys, "scan", str(tmp_path))
    assert code == 0
    assert "CT Image Storage" in out and "Head" in out
    assert out.rstrip().endswith(
        "1 display set from 1 instance (1 input read, 0 non-DICOM skipped, "
        "0 identical copies counted once, 0 cut short, 0 unreadable)"
    )
    assert err == ""


def test_scan_json_has_the_record_shape(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dicom(sop_instance_uid="1.2.3.42")
    code, out, _ = run(capsys, "scan", "--json", "--explain", str(tmp_path))
    document = json.loads(out)
    assert code == 0
    assert sorted(document) == ["displaySets", "explain", "problems", "schemaVersion"]
    (record,) = document["displaySets"]
    assert record["SOPInstanceUIDs"] == ["1.2.3.42"]
    assert record["plugin"] == "stack"
    (group,) = document["explain"]
    assert group["verdicts"][0]["outcome"] == "claimed"


def test_scan_exits_1_when_an_input_is_unreadable_after_printing_the_rest(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dicom()
    bad = tmp_path / "cut.json"
    bad.write_text("[{")
    code, out, err = run(capsys, "scan", str(tmp_path))
    assert code == 1
    assert "CT Image Storage" in out
    assert err.startswith(f"error: {bad}: not valid JSON: ")


def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "scan", str(tmp_path / "missing"))
    assert code == 2
    assert (
        err == f"displaysets: error: no such file or folder: {tmp_path / 'missing'}\n"
    )
    with pytest.raises(SystemExit) as exited:
        main(["scan"])
    assert exited.value.code == 2


def test_explain_shows_each_verdict(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dicom(pixels=False)
    _, out, _ = run(capsys, "scan", "--explain", str(tmp_path))
    assert (
        "displaysets.images: claimed 0 of 1; declined 1 (no pixel data: not an image)"
        in out
    )
    assert "displaysets.unsupported: claimed 1 of 1" in out


def test_plugins_lists_the_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugins", "--json")
    document = json.loads(out)
    names = {p["name"]: p for p in document["plugins"]}
    assert code == 0
    assert names["images"]["builtin"] is True
    assert names["images"]["handlers"] == ["displaysets.images"]
    assert {"displaysets.images", "displaysets.unsupported"} <= {
        h["id"] for h in document["handlers"]
    }


def test_export_copies_an_image_stack_and_refuses_to_overwrite(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in"
    first = write_dicom("in/a.dcm", InstanceNumber=1)
    write_dicom("in/b.dcm", InstanceNumber=2)
    uid = first_display_set_uid(capsys, source)
    target = tmp_path / "out"
    code, _, _ = run(
        capsys, "export", str(source), "--display-set", uid, "-o", str(target)
    )
    assert code == 0
    assert sorted(p.name for p in target.iterdir()) == ["00001.dcm", "00002.dcm"]
    assert (target / "00001.dcm").read_bytes() == first.read_bytes()
    code, _, err = run(
        capsys, "export", str(source), "--display-set", uid, "-o", str(target)
    )
    assert code == 2
    assert err == (
        f"displaysets: error: {target / '00001.dcm'} exists; "
        "add --overwrite to replace it\n"
    )


def test_export_never_writes_into_the_scanned_input(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in"
    path = write_dicom("in/a.dcm")
    before = path.read_bytes()
    uid = first_display_set_uid(capsys, source)
    for target in (source, path, source / "sub" / "x"):
        code, _, err = run(
            capsys,
            "export",
            str(source),
            "--display-set",
            uid,
            "-o",
            str(target),
            "--overwrite",
        )
        assert code == 2
        assert "input is never written, export elsewhere" in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in source.iterdir()) == ["a.dcm"]


def test_export_of_an_unknown_display_set_is_a_usage_error(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dicom()
    code, _, err = run(
        capsys,
        "export",
        str(tmp_path),
        "--display-set",
        "2.25.7",
        "-o",
        str(tmp_path / "x"),
    )
    assert code == 2
    assert "no display set 2.25.7 in the scanned input" in err


def test_control_characters_in_dicom_values_never_reach_the_terminal(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_dicom(SeriesDescription="A\x1b[2J\x1b]0;pwn\x07B")
    code, out, _ = run(capsys, "scan", str(tmp_path))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "A\\x1b[2J" in out


def test_an_exporter_refuses_options_it_does_not_take(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in"
    write_dicom("in/a.dcm")
    uid = first_display_set_uid(capsys, source)
    code, _, err = run(
        capsys,
        "export",
        str(source),
        "--display-set",
        uid,
        "-o",
        str(tmp_path / "out"),
        "--option",
        "level=2",
    )
    assert code == 2
    assert err.startswith(
        "displaysets: error: the stack exporter does not take these options: "
    )


def test_export_never_writes_through_a_hard_link_to_the_input(
    write_dicom: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in"
    path = write_dicom("in/a.dcm")
    before = path.read_bytes()
    uid = first_display_set_uid(capsys, source)
    target = tmp_path / "out"
    target.mkdir()
    (target / "00001.dcm").hardlink_to(path)
    code, _, _ = run(
        capsys,
        "export",
        str(source),
        "--display-set",
        uid,
        "-o",
        str(target / "00001.dcm"),
        "--overwrite",
    )
    assert code == 2
    code, _, _ = run(
        capsys,
        "export",
        str(source),
        "--display-set",
        uid,
        "-o",
        str(target),
        "--overwrite",
    )
    assert code == 0
    assert path.read_bytes() == before
    assert path.stat().st_nlink == 1


def test_header_values_never_appear_in_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "scan", "--header", "Authorization Bearer s3cret", "x")
    assert code == 2
    assert "s3cret" not in out + err

"""``displaysets scan URL`` against a scripted loopback server: the same records as
for files, headers sent and never shown."""

from __future__ import annotations

import json
from typing import Any

import pytest
from displaysets.cli import main
from pydicom.dataset import Dataset

STUDY = "1.2.3"
SERIES = "1.2.3.1"
TOKEN = "Bearer cli-secret-51c2"


def uid_object(keyword: str, value: str) -> dict[str, Any]:
    dataset = Dataset()
    setattr(dataset, keyword, value)
    return dataset.to_json_dict()


def ct_metadata(number: int) -> dict[str, Any]:
    dataset = Dataset()
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.SOPInstanceUID = f"{SERIES}.{number}"
    dataset.StudyInstanceUID = STUDY
    dataset.SeriesInstanceUID = SERIES
    dataset.Modality = "CT"
    dataset.InstanceNumber = number
    dataset.Rows = 2
    dataset.Columns = 2
    dataset.BitsAllocated = 16
    return dataset.to_json_dict()


def script(mock: Any) -> None:
    Reply = mock.reply_type
    mock.script("/studies", Reply.json([uid_object("StudyInstanceUID", STUDY)]))
    mock.script(
        f"/studies/{STUDY}/series",
        Reply.json([uid_object("SeriesInstanceUID", SERIES)]),
    )
    mock.script(
        f"/studies/{STUDY}/series/{SERIES}/metadata",
        Reply.json([ct_metadata(1), ct_metadata(2)]),
    )


def test_scan_of_a_url_prints_records_and_keeps_the_header_secret(
    dicomweb_mock: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script(dicomweb_mock)
    monkeypatch.setenv("DS_TEST_AUTH", f"Authorization: {TOKEN}")
    code = main(
        ["scan", "--json", dicomweb_mock.url, "--header-from-env", "DS_TEST_AUTH"]
    )
    captured = capsys.readouterr()
    assert code == 0
    (record,) = json.loads(captured.out)["displaySets"]
    assert record["plugin"] == "stack"
    assert record["SOPInstanceUIDs"] == [f"{SERIES}.1", f"{SERIES}.2"]
    assert record["wadoRoot"] == dicomweb_mock.url
    assert TOKEN not in captured.out + captured.err
    assert {r.headers.get("Authorization") for r in dicomweb_mock.requests} == {TOKEN}


def test_a_refused_credential_exits_1_and_names_the_url_only(
    dicomweb_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    Reply = dicomweb_mock.reply_type
    dicomweb_mock.script("/studies", Reply(401, b"", "text/plain"))
    code = main(["scan", dicomweb_mock.url, "--header", f"Authorization: {TOKEN}"])
    captured = capsys.readouterr()
    assert code == 1
    assert dicomweb_mock.url in captured.err
    assert TOKEN not in captured.out + captured.err

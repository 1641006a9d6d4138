"""The DICOMweb source against a real Orthanc: parity with local files, request
counts, authentication, safe headers and lazy content through the server."""

from __future__ import annotations

import base64
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pydicom
import pytest
from displaysets.errors import AuthenticationError
from displaysets.model import Instance
from displaysets.plugins import PluginHost
from displaysets.records import DisplaySet, Severity
from displaysets.service import DisplaySetService, load_with
from displaysets.sources.dicomweb import DicomWebSource
from displaysets.sources.files import FileSource

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

WSI_STORAGE = "1.2.840.10008.5.1.4.1.1.77.1.6"


def web_source(corpus: Any, **options: Any) -> DicomWebSource:
    options.setdefault("headers", {"Authorization": corpus.server.authorization})
    options.setdefault("retries", 0)
    return DicomWebSource(corpus.server.dicomweb_url, **options)


def scan_source(source: Any) -> DisplaySetService:
    service = DisplaySetService(PluginHost())
    service.add_source(source)
    return service


def identity(record: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """What a display set is: its handler, its series and the instances it covers."""
    return (
        record["SOPClassHandlerId"],
        record["SeriesInstanceUID"],
        tuple(record["SOPInstanceUIDs"]),
    )


def comparable(
    display_sets: list[DisplaySet], uid_map: dict[str, str] | None = None
) -> dict[tuple[str, str, tuple[str, ...]], list[Any]]:
    """Records keyed by identity, with the source's own locations taken out.

    ``wadoRoot`` and ``wadoUri`` go; file paths and instance URLs in messages become
    ``<SOP Instance UID>``; display set UIDs are mapped through ``uid_map``.
    """
    locations: dict[str, str] = {}
    for display_set in display_sets:
        for instance in display_set.instances:
            locations[instance.location] = f"<{instance.sop_instance_uid}>"
    result: dict[tuple[str, str, tuple[str, ...]], list[Any]] = {}
    for display_set in display_sets:
        record = display_set.to_json()
        del record["wadoRoot"], record["wadoUri"]
        text = json.dumps(record, sort_keys=True)
        for location in sorted(locations, key=len, reverse=True):
            text = text.replace(json.dumps(location)[1:-1], locations[location])
        for old, new in (uid_map or {}).items():
            text = text.replace(old, new)
        result.setdefault(identity(record), []).append(json.loads(text))
    return result


def differences(
    disk: object, web: object, transfer_syntaxes: set[str], path: str = ""
) -> list[str]:
    """Where two records differ, except for the differences this server is known
    to cause (each named where it is allowed)."""
    if isinstance(disk, dict) and isinstance(web, dict):
        found = []
        for key in sorted(set(disk) | set(web)):
            found += differences(
                disk.get(key), web.get(key), transfer_syntaxes, f"{path}.{key}"
            )
        return found
    if isinstance(disk, list) and isinstance(web, list) and len(disk) == len(web):
        found = []
        for number, (first, second) in enumerate(zip(disk, web, strict=True)):
            found += differences(first, second, transfer_syntaxes, f"{path}[{number}]")
        return found
    if disk == web:
        # Numbers compare by value: DS values travel as JSON numbers, so a
        # negative zero ("-0.0" in a file) comes back from Orthanc as 0.
        return []
    if web is None and disk in transfer_syntaxes:
        # Expected difference: TransferSyntaxUID (0002,0010) is File Meta
        # Information, which Orthanc's WADO-RS metadata does not include, so a
        # value a handler takes from it is null through the server.
        return []
    return [f"{path}: from the file {disk!r}, from the server {web!r}"]


def test_corpus_through_orthanc_gives_the_display_sets_of_the_files(
    orthanc_corpus: Any,
) -> None:
    source = web_source(orthanc_corpus)
    web = scan_source(source)
    disk = scan_source(FileSource(orthanc_corpus.stored))
    web_sets, disk_sets = web.display_sets, disk.display_sets

    by_identity = {identity(d.to_json()): d for d in disk_sets}
    uid_map: dict[str, str] = {}
    for display_set in web_sets:
        twin = by_identity.get(identity(display_set.to_json()))
        if twin is None:
            continue
        if display_set.display_set_instance_uid != twin.display_set_instance_uid:
            # Expected difference: a conflicting copy of a SOP Instance UID has its
            # display set UID salted with the source's fingerprint of the copy (file
            # bytes on disk, the metadata object on the server).
            assert any(m.code == "DUPLICATE_SOP_INSTANCE_UID" for m in twin.messages)
            uid_map[display_set.display_set_instance_uid] = (
                twin.display_set_instance_uid
            )
    web_records = comparable(web_sets, uid_map)
    disk_records = comparable(disk_sets)
    assert sorted(web_records) == sorted(disk_records)

    transfer_syntaxes = {
        str(i.dataset.file_meta.TransferSyntaxUID)
        for i in disk.instances
        if "TransferSyntaxUID" in getattr(i.dataset, "file_meta", {})
    }
    found = []
    for key, records in disk_records.items():
        for disk_record, web_record in zip(records, web_records[key], strict=True):
            found += [
                f"{key[0]} {disk_record['SOPInstanceUID']}{where}"
                for where in differences(disk_record, web_record, transfer_syntaxes)
            ]
    assert found == []

    assert [p for p in web.problems if p.severity is Severity.ERROR] == []
    for display_set in web_sets:
        first = display_set.instances[0]
        assert display_set.wado_root == orthanc_corpus.server.dicomweb_url
        assert display_set.wado_uri == (
            f"{orthanc_corpus.server.dicomweb_url}/studies/{first.study_instance_uid}"
            f"/series/{first.series_instance_uid}/instances/{first.sop_instance_uid}"
        )
    assert {d.wado_root for d in disk_sets} == {None}


def test_every_instance_the_server_stored_is_read(orthanc_corpus: Any) -> None:
    web_instances = list(web_source(orthanc_corpus).iter_instances(print))
    disk_instances = list(FileSource(orthanc_corpus.stored).iter_instances(print))
    assert Counter(
        (i.series_instance_uid, i.sop_instance_uid, i.sop_class_uid)
        for i in web_instances
    ) == Counter(
        (i.series_instance_uid, i.sop_instance_uid, i.sop_class_uid)
        for i in disk_instances
    )


def test_instances_record_their_bulk_data_as_the_files_do(orthanc_corpus: Any) -> None:
    disk = {
        (i.series_instance_uid, i.sop_instance_uid): i
        for i in FileSource(orthanc_corpus.stored).iter_instances(print)
    }
    for instance in web_source(orthanc_corpus).iter_instances(print):
        twin = disk[(instance.series_instance_uid, instance.sop_instance_uid)]
        # Expected difference: a BulkDataURI does not tell the value's length, so
        # the server's bulk data are recorded with length None.
        assert instance.bulk_data == dict.fromkeys(twin.bulk_data)
        for keyword in instance.bulk_data:
            assert keyword not in instance.dataset


def test_one_metadata_request_per_series_never_per_instance(
    orthanc_corpus: Any,
) -> None:
    server = orthanc_corpus.server
    studies = json.loads(server.request("GET", "/studies")[1])
    series = json.loads(server.request("GET", "/series")[1])
    instances = json.loads(server.request("GET", "/instances")[1])
    source = web_source(orthanc_corpus)
    read = list(source.iter_instances(print))
    assert len(read) == len(instances)
    assert source.requests_sent == 1 + len(studies) + len(series)


def test_named_studies_skip_the_study_search(orthanc_corpus: Any) -> None:
    first = FileSource(orthanc_corpus.stored[:1])
    study = next(first.iter_instances(print)).study_instance_uid
    source = web_source(orthanc_corpus, study_instance_uids=[study])
    read = list(source.iter_instances(print))
    series = {i.series_instance_uid for i in read}
    assert {i.study_instance_uid for i in read} == {study}
    assert source.requests_sent == 1 + len(series)


def test_no_credentials_is_an_authentication_error_naming_the_url(
    orthanc_corpus: Any,
) -> None:
    source = web_source(orthanc_corpus, headers=None)
    with pytest.raises(AuthenticationError) as raised:
        list(source.iter_instances(print))
    assert str(raised.value) == (
        f"{orthanc_corpus.server.dicomweb_url}/studies: the server needs credentials "
        "(HTTP 401); check the headers given"
    )


def test_wrong_credentials_are_refused_without_showing_them(
    orthanc_corpus: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Basic " + base64.b64encode(b"test:not-the-password").decode()
    source = web_source(orthanc_corpus, headers={"Authorization": wrong})
    service = scan_source(source)
    assert service.instances == []
    [problem] = service.problems
    assert problem.code == "SOURCE_FAILED"
    assert problem.text == (
        f"{orthanc_corpus.server.dicomweb_url}/studies: the server needs credentials "
        "(HTTP 401); check the headers given"
    )
    for text in (caplog.text, repr(source), json.dumps(problem.to_json())):
        assert "not-the-password" not in text
        assert wrong.split()[1] not in text


def test_right_credentials_read_the_corpus(orthanc_corpus: Any) -> None:
    source = web_source(orthanc_corpus)
    assert len(list(source.iter_instances(print))) > 0


def test_credentials_in_the_url_become_a_header_and_leave_the_description(
    orthanc_corpus: Any,
) -> None:
    server = orthanc_corpus.server
    url = server.dicomweb_url.replace("http://", "http://test:secret-orthanc-password@")
    source = DicomWebSource(url, retries=0)
    assert source.description == server.dicomweb_url
    assert "secret-orthanc-password" not in repr(source)
    assert len(list(source.iter_instances(print))) > 0


def test_headers_stay_out_of_logs_json_and_messages_through_scan_and_loads(
    orthanc_corpus: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = orthanc_corpus.server.authorization.split()[1]
    source = web_source(orthanc_corpus)
    service = scan_source(source)
    outputs = [repr(source), source.description]
    for display_set in service.display_sets:
        outputs.append(display_set.to_json_string())
        try:
            service.load(display_set)
        except Exception as error:  # loads may fail; their messages must be safe too
            outputs.append(str(error))
    outputs.extend(str(p) for p in service.problems)
    outputs.append(caplog.text)
    for text in outputs:
        assert token not in text
        assert "secret-orthanc-password" not in text


def _bulk_value(dataset: pydicom.Dataset, keyword: str) -> bytes:
    return bytes(dataset[keyword].value)


def test_open_dataset_fetches_the_whole_stored_instance(orthanc_corpus: Any) -> None:
    disk = {
        (i.series_instance_uid, i.sop_instance_uid): i
        for i in FileSource(orthanc_corpus.stored).iter_instances(print)
    }
    for instance in web_source(orthanc_corpus).iter_instances(print):
        twin = disk[(instance.series_instance_uid, instance.sop_instance_uid)]
        fetched = instance.open_dataset()
        local = twin.open_dataset()
        assert fetched.SOPInstanceUID == instance.sop_instance_uid
        for keyword in twin.bulk_data:
            assert _bulk_value(fetched, keyword) == _bulk_value(local, keyword), (
                instance.location,
                keyword,
            )


def _documents(corpus: Any) -> list[Instance]:
    return [
        i
        for i in web_source(corpus).iter_instances(print)
        if "EncapsulatedDocument" in i.bulk_data
    ]


def test_bulk_data_fetches_an_encapsulated_document_by_its_bulk_data_uri(
    orthanc_corpus: Any,
) -> None:
    documents = _documents(orthanc_corpus)
    if not documents:
        pytest.skip("the corpus has no encapsulated document Orthanc stores")
    for instance in documents:
        source = instance.source
        assert isinstance(source, DicomWebSource)
        assert "(0042,0011)" in instance.bulk_data_uris
        expected = _bulk_value(instance.open_dataset(), "EncapsulatedDocument")
        before = source.requests_sent
        assert source.bulk_data(instance, "EncapsulatedDocument") == expected
        assert source.requests_sent == before + 1


def test_frames_of_a_slide_come_as_stored(orthanc_corpus: Any) -> None:
    from pydicom.encaps import generate_frames

    slides = [
        i
        for i in web_source(orthanc_corpus).iter_instances(print)
        if i.sop_class_uid == WSI_STORAGE and i.number_of_frames >= 2
    ]
    if not slides:
        pytest.skip("the corpus has no multi-frame slide Orthanc stores")
    for instance in slides:
        source = instance.source
        assert isinstance(source, DicomWebSource)
        whole = instance.open_dataset()
        if whole.file_meta.TransferSyntaxUID.is_encapsulated:
            frames = generate_frames(
                whole.PixelData, number_of_frames=whole.NumberOfFrames
            )
            stored = [next(frames), next(frames)]
        else:
            size = len(whole.PixelData) // int(whole.NumberOfFrames)
            stored = [whole.PixelData[:size], whole.PixelData[size : 2 * size]]
        fetched = source.frames(instance, [1, 2])
        # Expected difference: frames in a native transfer syntax may come padded
        # to an even length.
        assert [f[: len(s)] for f, s in zip(fetched, stored, strict=True)] == stored, (
            instance.location
        )


def test_content_loads_through_the_server_as_from_files(orthanc_corpus: Any) -> None:
    web = scan_source(web_source(orthanc_corpus))
    disk = scan_source(FileSource(orthanc_corpus.stored))
    disk_by_uid = {d.display_set_instance_uid: d for d in disk.display_sets}
    compared = 0
    for display_set in web.display_sets:
        twin = disk_by_uid.get(display_set.display_set_instance_uid)
        handler = web.handler_of(display_set)
        if twin is None or handler is None or handler.load is None:
            continue
        outcomes = []
        for service, which in ((web, display_set), (disk, twin)):
            try:
                load_with(service.handler_of(which), which)
                outcomes.append("loaded")
            except Exception as error:
                outcomes.append(type(error).__name__)
        assert outcomes[0] == outcomes[1], display_set.sop_class_name
        compared += 1
    assert compared > 0


def test_reduced_series_metadata_is_completed_per_instance(
    reduced_orthanc_corpus: Any, orthanc_corpus: Any
) -> None:
    reduced = web_source(reduced_orthanc_corpus)
    service = scan_source(reduced)
    full = scan_source(web_source(orthanc_corpus))
    assert comparable(service.display_sets) == comparable(full.display_sets)

    server = reduced_orthanc_corpus.server
    studies = json.loads(server.request("GET", "/studies")[1])
    series = json.loads(server.request("GET", "/series")[1])
    instances = json.loads(server.request("GET", "/instances")[1])
    # This Orthanc leaves even the SOP Class UID out of its series metadata, so the
    # source asks for each instance's metadata once.
    assert reduced.requests_sent == 1 + len(studies) + len(series) + len(instances)
    reduced_series = [p for p in service.problems if p.code == "REDUCED_METADATA"]
    assert len(reduced_series) == len(series)
    assert {p.severity for p in reduced_series} == {Severity.INFO}


def test_stored_files_and_refusals_are_what_the_fixture_says(
    orthanc_corpus: Any,
) -> None:
    # Orthanc refuses DICOMDIRs and files it cannot parse; everything it keeps is
    # readable from disk.
    assert all(isinstance(p, Path) and p.is_file() for p in orthanc_corpus.stored)
    readable = list(FileSource(orthanc_corpus.stored).iter_instances(print))
    assert len(readable) == len(orthanc_corpus.stored)

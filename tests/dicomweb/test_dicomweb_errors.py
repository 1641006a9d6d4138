"""The DICOMweb source against a scripted loopback server: retries, timeouts, malformed
answers, authentication, redirects, reduced metadata and content answers."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
from displaysets import HandlerModule, hookimpl
from displaysets.errors import AuthenticationError, ContentError
from displaysets.handlers import Offer
from displaysets.plugins import PluginHost
from displaysets.records import DisplaySet, Severity
from displaysets.service import DisplaySetService
from displaysets.sources.base import Problem
from displaysets.sources.dicomweb import DicomWebSource
from displaysets.sources.dicomweb_http import RetryingCaller
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian

logger = logging.getLogger(__name__)

STUDY = "1.2.3"
SERIES = ("1.2.3.1", "1.2.3.2")
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
TOKEN = "Bearer not-to-be-shown-7f3a"


def metadata(series: str, number: int, **extra: Any) -> dict[str, Any]:
    """The DICOM JSON of one CT instance of ``series``."""
    dataset = Dataset()
    dataset.SOPClassUID = CT_IMAGE
    dataset.SOPInstanceUID = f"{series}.{number}"
    dataset.StudyInstanceUID = STUDY
    dataset.SeriesInstanceUID = series
    dataset.Modality = "CT"
    dataset.InstanceNumber = number
    for keyword, value in extra.items():
        setattr(dataset, keyword, value)
    return dataset.to_json_dict()


def uid_object(keyword: str, value: str) -> dict[str, Any]:
    dataset = Dataset()
    setattr(dataset, keyword, value)
    return dataset.to_json_dict()


def script_study(mock: Any, *series: str) -> None:
    Reply = mock.reply_type
    mock.script("/studies", Reply.json([uid_object("StudyInstanceUID", STUDY)]))
    mock.script(
        f"/studies/{STUDY}/series",
        Reply.json([uid_object("SeriesInstanceUID", s) for s in series]),
    )


def source_for(mock: Any, **options: Any) -> DicomWebSource:
    options.setdefault("headers", {"Authorization": TOKEN})
    options.setdefault("retries", 0)
    options.setdefault("backoff", 0.0)
    options.setdefault("timeout", 5.0)
    return DicomWebSource(mock.url, **options)


def read(source: DicomWebSource) -> tuple[list[str], list[Problem]]:
    problems: list[Problem] = []
    instances = list(source.iter_instances(problems.append))
    return [i.sop_instance_uid for i in instances], problems


def test_a_5xx_answer_is_retried_then_the_study_loads(dicomweb_mock: Any) -> None:
    Reply = dicomweb_mock.reply_type
    script_study(dicomweb_mock, SERIES[0])
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply(503, b"busy", "text/plain"),
        Reply(502, b"busy", "text/plain"),
        Reply.json([metadata(SERIES[0], 1)]),
    )
    source = source_for(dicomweb_mock, retries=2)
    assert read(source) == ([f"{SERIES[0]}.1"], [])
    assert dicomweb_mock.paths() == [
        "/studies",
        f"/studies/{STUDY}/series",
        *[f"/studies/{STUDY}/series/{SERIES[0]}/metadata"] * 3,
    ]
    assert source.requests_sent == 5


def test_a_series_failing_after_its_retries_is_reported_and_the_rest_loads(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    script_study(dicomweb_mock, *SERIES)
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply(500, b"broken", "text/plain"),
    )
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[1]}/metadata",
        Reply.json([metadata(SERIES[1], 1), metadata(SERIES[1], 2)]),
    )
    source = source_for(dicomweb_mock, retries=1)
    uids, problems = read(source)
    assert uids == [f"{SERIES[1]}.1", f"{SERIES[1]}.2"]
    url = f"{dicomweb_mock.url}/studies/{STUDY}/series/{SERIES[0]}/metadata"
    assert problems == [
        Problem(
            url,
            "SERIES_UNAVAILABLE",
            Severity.ERROR,
            f"{url}: HTTP 500 Internal Server Error (tried 2 times)",
        )
    ]
    assert (source.series_read, source.series_failed) == (1, 1)


def test_a_timeout_is_retried_a_bounded_number_of_times_then_reported(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    script_study(dicomweb_mock, *SERIES)
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply(200, b"[]", delay=1.0),
    )
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[1]}/metadata",
        Reply.json([metadata(SERIES[1], 1)]),
    )
    source = source_for(dicomweb_mock, retries=1, timeout=0.2)
    uids, problems = read(source)
    assert uids == [f"{SERIES[1]}.1"]
    url = f"{dicomweb_mock.url}/studies/{STUDY}/series/{SERIES[0]}/metadata"
    assert [(p.location, p.code, p.text) for p in problems] == [
        (url, "SERIES_UNAVAILABLE", f"{url}: no answer within 0.2 s (tried 2 times)")
    ]
    assert (
        dicomweb_mock.paths().count(f"/studies/{STUDY}/series/{SERIES[0]}/metadata")
        == 2
    )


def test_backoff_doubles_between_attempts_up_to_its_cap() -> None:
    import requests

    caller = RetryingCaller(timeout=1.0, retries=6, backoff=0.5)
    pauses: list[float] = []
    caller.sleep = pauses.append

    def request() -> None:
        raise requests.ConnectionError("refused")

    with pytest.raises(Exception, match=r"^http://127.0.0.1:9/x: connection failed"):
        caller.call("http://127.0.0.1:9/x", request)
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_malformed_json_for_one_series_is_reported_and_the_other_loads(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    script_study(dicomweb_mock, *SERIES)
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply(200, b'[{"00080016": {"vr": "UI", "Value": ["1.2'),
    )
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[1]}/metadata",
        Reply.json([metadata(SERIES[1], 1)]),
    )
    uids, problems = read(source_for(dicomweb_mock))
    assert uids == [f"{SERIES[1]}.1"]
    [problem] = problems
    url = f"{dicomweb_mock.url}/studies/{STUDY}/series/{SERIES[0]}/metadata"
    assert (problem.location, problem.code, problem.severity) == (
        url,
        "MALFORMED_ANSWER",
        Severity.ERROR,
    )
    assert problem.text.startswith(f"{url}: answer is not valid JSON (")


def test_metadata_that_is_not_an_array_of_objects_is_reported_item_by_item(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    script_study(dicomweb_mock, *SERIES)
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply.json([metadata(SERIES[0], 1), "not an object", {"00080060": {}}]),
    )
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[1]}/metadata", Reply.json("a string")
    )
    uids, problems = read(source_for(dicomweb_mock))
    assert uids == [f"{SERIES[0]}.1"]
    first = f"{dicomweb_mock.url}/studies/{STUDY}/series/{SERIES[0]}/metadata"
    second = f"{dicomweb_mock.url}/studies/{STUDY}/series/{SERIES[1]}/metadata"
    assert [(p.location, p.code, p.text) for p in problems] == [
        (
            f"{first}#2",
            "MALFORMED_ANSWER",
            "metadata item is a JSON str, not an object",
        ),
        (
            f"{first}#3",
            "MISSING_SOP_INSTANCE_UID",
            "metadata object without SOP Instance UID; cannot be fetched",
        ),
        (
            second,
            "MALFORMED_ANSWER",
            f"{second}: WADO-RS metadata is not an array of objects",
        ),
    ]


@pytest.mark.parametrize(
    ("status", "what"), [(401, "needs credentials"), (403, "refused access")]
)
def test_401_and_403_are_authentication_errors_naming_the_url_only(
    dicomweb_mock: Any, caplog: pytest.LogCaptureFixture, status: int, what: str
) -> None:
    caplog.set_level(logging.DEBUG)
    Reply = dicomweb_mock.reply_type
    dicomweb_mock.script("/studies", Reply(status, b"{}", "application/json"))
    source = source_for(dicomweb_mock, retries=3)
    with pytest.raises(AuthenticationError) as raised:
        read(source)
    assert str(raised.value) == (
        f"{dicomweb_mock.url}/studies: the server {what} (HTTP {status}); "
        "check the headers given"
    )
    assert source.requests_sent == 1  # refused credentials are not retried
    assert "not-to-be-shown" not in caplog.text


def test_an_authentication_error_midway_keeps_the_series_already_read(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    script_study(dicomweb_mock, *SERIES)
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply.json([metadata(SERIES[0], 1)]),
    )
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[1]}/metadata", Reply(401, b"", "text/plain")
    )
    service = DisplaySetService(PluginHost())
    service.add_source(source_for(dicomweb_mock))
    assert [i.sop_instance_uid for i in service.instances] == [f"{SERIES[0]}.1"]
    assert [(p.code, p.severity) for p in service.problems] == [
        ("SOURCE_FAILED", Severity.ERROR)
    ]
    assert "not-to-be-shown" not in service.problems[0].text


def instance_bytes(series: str, number: int) -> bytes:
    """A small CT instance with pixel data, as a Part 10 file."""
    dataset = Dataset()
    for key, value in metadata(series, number).items():
        dataset[key] = Dataset.from_json({key: value})[key]
    dataset.Rows = dataset.Columns = 2
    dataset.BitsAllocated = dataset.BitsStored = 16
    dataset.HighBit = 15
    dataset.SamplesPerPixel = 1
    dataset.PixelRepresentation = 0
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.PixelData = b"\x01\x00\x02\x00\x03\x00\x04\x00"
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = UID(CT_IMAGE)
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def multipart(*parts: tuple[str, bytes], boundary: str = "b0und4ry") -> bytes:
    body = b""
    for media_type, content in parts:
        body += f"--{boundary}\r\nContent-Type: {media_type}\r\n\r\n".encode()
        body += content + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def one_instance_source(mock: Any, **options: Any) -> tuple[DicomWebSource, Any]:
    Reply = mock.reply_type
    script_study(mock, SERIES[0])
    mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply.json([metadata(SERIES[0], 1, Rows=2, Columns=2)]),
    )
    source = source_for(mock, **options)
    [instance] = list(source.iter_instances(print))
    return source, instance


INSTANCE = f"/studies/{STUDY}/series/{SERIES[0]}/instances/{SERIES[0]}.1"


@pytest.mark.parametrize("form", ["multipart", "single part"])
def test_open_dataset_accepts_multipart_and_single_part_answers(
    dicomweb_mock: Any, form: str
) -> None:
    Reply = dicomweb_mock.reply_type
    _, instance = one_instance_source(dicomweb_mock)
    content = instance_bytes(SERIES[0], 1)
    if form == "multipart":
        reply = Reply(
            200,
            multipart(("application/dicom", content)),
            'multipart/related; type="application/dicom"; boundary=b0und4ry',
        )
    else:
        reply = Reply(200, content, "application/dicom")
    dicomweb_mock.script(INSTANCE, reply)
    dataset = instance.open_dataset()
    assert dataset.SOPInstanceUID == f"{SERIES[0]}.1"
    assert dataset.PixelData == b"\x01\x00\x02\x00\x03\x00\x04\x00"
    [request] = [r for r in dicomweb_mock.requests if r.path.endswith(INSTANCE)]
    assert request.headers["Authorization"] == TOKEN
    assert request.headers["Accept"] == (
        'multipart/related; type="application/dicom"; transfer-syntax=*'
    )


def test_a_multipart_answer_cut_short_is_a_content_error(dicomweb_mock: Any) -> None:
    Reply = dicomweb_mock.reply_type
    _, instance = one_instance_source(dicomweb_mock)
    body = multipart(("application/dicom", instance_bytes(SERIES[0], 1)))
    dicomweb_mock.script(
        INSTANCE,
        Reply(
            200,
            body[:-40],
            'multipart/related; type="application/dicom"; boundary=b0und4ry',
        ),
    )
    with pytest.raises(ContentError) as raised:
        instance.open_dataset()
    assert str(raised.value) == (
        f"{dicomweb_mock.url}{INSTANCE}: malformed answer (multipart answer ends "
        "before its closing boundary)"
    )


def test_an_answer_that_is_not_dicom_is_a_content_error(dicomweb_mock: Any) -> None:
    Reply = dicomweb_mock.reply_type
    _, instance = one_instance_source(dicomweb_mock)
    dicomweb_mock.script(INSTANCE, Reply(200, b"<html></html>", "text/html"))
    with pytest.raises(ContentError) as raised:
        instance.open_dataset()
    assert str(raised.value) == (
        f"{dicomweb_mock.url}{INSTANCE}: the server sent text/html, "
        "not application/dicom"
    )


def test_headers_go_with_every_request_including_lazy_loads(dicomweb_mock: Any) -> None:
    Reply = dicomweb_mock.reply_type
    _, instance = one_instance_source(dicomweb_mock)
    dicomweb_mock.script(
        INSTANCE, Reply(200, instance_bytes(SERIES[0], 1), "application/dicom")
    )
    instance.open_dataset()
    assert len(dicomweb_mock.requests) == 4
    assert [r.headers.get("Authorization") for r in dicomweb_mock.requests] == [
        TOKEN
    ] * 4


def test_a_redirect_to_another_server_drops_the_headers(dicomweb_mock: Any) -> None:
    Reply = dicomweb_mock.reply_type
    with dicomweb_mock.serve_another() as elsewhere:
        headers = {"Authorization": TOKEN, "X-Api-Key": "key-7f3a"}
        _, instance = one_instance_source(dicomweb_mock, headers=headers)
        dicomweb_mock.script(
            INSTANCE,
            Reply(
                302, b"", "text/plain", headers=(("Location", elsewhere.url + "/x"),)
            ),
        )
        elsewhere.script(
            "/x", Reply(200, instance_bytes(SERIES[0], 1), "application/dicom")
        )
        instance.open_dataset()
        assert dicomweb_mock.requests[-1].headers["X-Api-Key"] == "key-7f3a"
        [request] = elsewhere.requests
        assert "Authorization" not in request.headers
        assert "X-Api-Key" not in request.headers


def test_a_bulk_data_uri_pointing_elsewhere_is_not_followed(dicomweb_mock: Any) -> None:
    Reply = dicomweb_mock.reply_type
    script_study(dicomweb_mock, SERIES[0])
    pdf = metadata(SERIES[0], 1)
    pdf["00420011"] = {"vr": "OB", "BulkDataURI": "http://127.0.0.1:9/stolen"}
    dicomweb_mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata", Reply.json([pdf])
    )
    source = source_for(dicomweb_mock)
    [instance] = list(source.iter_instances(print))
    assert instance.bulk_data == {"EncapsulatedDocument": None}
    whole = Dataset.from_json(
        pdf | {"00420011": {"vr": "OB", "InlineBinary": "JVBERg=="}}
    )
    whole.file_meta = FileMetaDataset()
    whole.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    whole.save_as(buffer, enforce_file_format=True)
    dicomweb_mock.script(INSTANCE, Reply(200, buffer.getvalue(), "application/dicom"))
    assert source.bulk_data(instance, "EncapsulatedDocument") == b"%PDF"
    assert dicomweb_mock.paths()[-1] == INSTANCE


def test_qido_truncation_warnings_are_followed_with_an_offset(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    warning = (("Warning", "299 server: The number of results exceeded the maximum"),)
    dicomweb_mock.script(
        "/studies",
        Reply(
            200,
            json.dumps([uid_object("StudyInstanceUID", "1.2.3")]).encode(),
            headers=warning,
        ),
    )
    dicomweb_mock.script(
        "/studies?offset=1", Reply.json([uid_object("StudyInstanceUID", "1.2.4")])
    )
    for study in ("1.2.3", "1.2.4"):
        dicomweb_mock.script(f"/studies/{study}/series", Reply.json([]))
    uids, problems = read(source_for(dicomweb_mock))
    assert uids == []
    assert [p.location for p in problems] == [
        f"{dicomweb_mock.url}/studies/1.2.3",
        f"{dicomweb_mock.url}/studies/1.2.4",
    ]
    assert {p.code for p in problems} == {"STUDY_EMPTY"}


def test_credentials_in_the_url_go_in_a_header_not_in_messages(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    dicomweb_mock.script("/studies", Reply(500, b"", "text/plain"))
    url = dicomweb_mock.url.replace("http://", "http://user:p%40ss@")
    source = DicomWebSource(url, retries=0)
    _, problems = read(source)
    expected = "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert dicomweb_mock.requests[0].headers["Authorization"] == expected
    assert source.description == dicomweb_mock.url
    assert [p.text for p in problems] == [
        f"{dicomweb_mock.url}/studies: HTTP 500 Internal Server Error (tried 1 times)"
    ]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {"Authorization": "Bearer a\r\nX-Evil: 1"},
            "the value of HTTP header 'Authorization' is not a one-line text",
        ),
        ({"Bad Name": "v"}, "invalid HTTP header name 'Bad Name'"),
    ],
)
def test_invalid_headers_are_refused_naming_the_header_not_its_value(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        DicomWebSource("http://127.0.0.1:9/dicom-web", headers=headers)
    assert str(raised.value) == message


def test_urls_that_are_not_http_are_refused() -> None:
    with pytest.raises(
        ValueError, match=r"^not an http\(s\) DICOMweb URL: file:///etc$"
    ):
        DicomWebSource("file:///etc")


# -- reduced metadata -------------------------------------------------------------


def _needs(attributes: tuple[str, ...]) -> object:
    class NeedsAttributes:
        @hookimpl
        def get_sop_class_handler_module(self) -> HandlerModule:
            def make(offer: Offer) -> list[DisplaySet]:
                return [offer.display_set(offer.instances)]

            return HandlerModule(
                id="tests-dicomweb.needs",
                sop_class_uids=(CT_IMAGE,),
                get_display_sets_from_series=make,
                viewport="test",
                priority=100,
                required_attributes=attributes,
            )

    return NeedsAttributes()


def reduced_server(mock: Any, count: int, *, fuller: bool) -> None:
    """Series metadata without Image Type; instance metadata with it when
    ``fuller``, else the same as the series metadata."""
    Reply = mock.reply_type
    script_study(mock, SERIES[0])
    mock.script(
        f"/studies/{STUDY}/series/{SERIES[0]}/metadata",
        Reply.json([metadata(SERIES[0], n) for n in range(1, count + 1)]),
    )
    for n in range(1, count + 1):
        mock.script(
            f"/studies/{STUDY}/series/{SERIES[0]}/instances/{SERIES[0]}.{n}/metadata",
            Reply.json(
                [
                    metadata(SERIES[0], n, ImageType=["ORIGINAL", "PRIMARY"])
                    if fuller
                    else metadata(SERIES[0], n)
                ]
            ),
        )


def scan_with(mock: Any, attributes: tuple[str, ...]) -> tuple[DisplaySetService, Any]:
    host = PluginHost(autoload=False)
    host.register(_needs(attributes), "needs", distribution="tests-dicomweb")
    service = DisplaySetService(host)
    source = source_for(mock)
    service.add_source(source)
    return service, source


def test_reduced_metadata_is_completed_for_a_handler_that_needs_more(
    dicomweb_mock: Any,
) -> None:
    reduced_server(dicomweb_mock, 3, fuller=True)
    service, source = scan_with(dicomweb_mock, ("ImageType",))
    [display_set] = service.display_sets
    assert display_set.messages == []
    assert [list(i.dataset.ImageType) for i in display_set.instances] == [
        ["ORIGINAL", "PRIMARY"]
    ] * 3
    assert source.requests_sent == 3 + 3


def test_an_attribute_the_full_metadata_lacks_too_is_probed_once_per_series(
    dicomweb_mock: Any,
) -> None:
    reduced_server(dicomweb_mock, 3, fuller=False)
    service, source = scan_with(dicomweb_mock, ("PatientWeight",))
    [display_set] = service.display_sets
    # The instance metadata added nothing, so the series metadata was complete: the
    # attribute is absent, not left out, and the other instances are not fetched.
    assert display_set.messages == []
    assert source.requests_sent == 3 + 1


def test_metadata_that_cannot_be_completed_is_named_on_the_display_set(
    dicomweb_mock: Any,
) -> None:
    Reply = dicomweb_mock.reply_type
    reduced_server(dicomweb_mock, 3, fuller=True)
    dicomweb_mock.script(f"{INSTANCE}/metadata", Reply(500, b"", "text/plain"))
    service, source = scan_with(dicomweb_mock, ("ImageType",))
    [display_set] = service.display_sets
    assert [m.text for m in display_set.messages] == [
        f"{dicomweb_mock.url}{INSTANCE[:-1]}{n}: metadata lacks ImageType, which "
        "handler tests-dicomweb.needs needs"
        for n in (1, 2, 3)
    ]
    assert {m.code for m in display_set.messages} == {"METADATA_INCOMPLETE"}
    assert source.requests_sent == 3 + 1  # the first failure stops the others

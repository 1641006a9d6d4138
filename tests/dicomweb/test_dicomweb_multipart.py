"""Decoding WADO-RS answers: multipart/related bodies and single plain parts."""

from __future__ import annotations

import pytest
from displaysets.sources.dicomweb_multipart import Part, split_parts

RELATED = 'multipart/related; type="application/octet-stream"; boundary="XyZ"'


def test_a_plain_answer_is_one_part() -> None:
    assert split_parts("application/dicom", b"DICM") == [
        Part("application/dicom", b"DICM")
    ]


def test_multipart_parts_keep_their_bytes_and_media_types() -> None:
    body = (
        b"preamble\r\n--XyZ\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n\xff\xd9"
        b"\r\n--XyZ  \r\n\r\nplain\r\n--XyZ--\r\nepilogue"
    )
    assert split_parts(RELATED, body) == [
        Part("image/jpeg", b"\xff\xd8\r\n\xff\xd9"),
        Part("application/octet-stream", b"plain"),
    ]


def test_a_body_starting_with_its_boundary_has_no_preamble() -> None:
    body = b"--XyZ\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--XyZ--"
    assert split_parts(RELATED, body) == [Part("application/pdf", b"%PDF")]


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("multipart/related", b"--x\r\n\r\ny\r\n--x--", "without a boundary"),
        (RELATED, b"--XyZ\r\n\r\ncut", "ends before its closing boundary"),
        (
            RELATED,
            b"--XyZ\r\nContent-Type: a/b\r\nno blank line\r\n--XyZ--",
            "blank line",
        ),
    ],
)
def test_broken_multipart_bodies_are_refused(
    content_type: str, body: bytes, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        split_parts(content_type, body)

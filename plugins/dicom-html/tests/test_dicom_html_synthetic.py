"""The plugin on reports built here with pydicom: safety, bad input, references."""

from __future__ import annotations

import html.parser
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from displaysets import DisplaySet, PluginHost, scan
from displaysets_dicom_html import plugin
from displaysets_dicom_html.report import StructuredReport
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
STUDY = "1.2.826.0.1.3680043.8.498.1"
SERIES = "1.2.826.0.1.3680043.8.498.2"
ATTACK = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def code(value: str, meaning: str, scheme: str = "99TEST") -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def content_item(
    value_type: str | None,
    relationship: str | None = "CONTAINS",
    name: Dataset | None = None,
    children: Sequence[Dataset] = (),
    **values: Any,
) -> Dataset:
    item = Dataset()
    if relationship is not None:
        item.RelationshipType = relationship
    if value_type is not None:
        item.ValueType = value_type
    if name is not None:
        item.ConceptNameCodeSequence = [name]
    for keyword, value in values.items():
        setattr(item, keyword, value)
    if children:
        item.ContentSequence = list(children)
    return item


def write_report(
    folder: Path,
    name: str,
    children: Sequence[Dataset] | None,
    *,
    number: int = 1,
    content_time: str = "120000",
    charset: str | list[str] = "ISO_IR 192",
    title: Dataset | None = None,
    implicit: bool = False,
) -> Path:
    dataset = Dataset()
    dataset.SpecificCharacterSet = charset
    dataset.SOPClassUID = COMPREHENSIVE_SR
    dataset.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.10.{number}"
    dataset.StudyInstanceUID = STUDY
    dataset.SeriesInstanceUID = SERIES
    dataset.Modality = "SR"
    dataset.PatientName = "Test^Synthetic"
    dataset.InstanceNumber = number
    dataset.ContentDate = "20240101"
    dataset.ContentTime = content_time
    dataset.ValueType = "CONTAINER"
    dataset.ContinuityOfContent = "SEPARATE"
    dataset.CompletionFlag = "COMPLETE"
    dataset.VerificationFlag = "UNVERIFIED"
    dataset.ConceptNameCodeSequence = [title or code("T1", "Synthetic report")]
    if children is not None:
        dataset.ContentSequence = list(children)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(COMPREHENSIVE_SR)
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = (
        ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    )
    dataset.file_meta = meta
    path = folder / f"{name}.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def make_host() -> PluginHost:
    host = PluginHost(autoload=False)
    host.register(plugin, "dicom-html", distribution="displaysets-dicom-html")
    return host


def reports(*paths: Path) -> list[DisplaySet]:
    service = scan(list(paths), host=make_host())
    return [d for d in service.display_sets if d.plugin == "html"]


def only(*paths: Path) -> DisplaySet:
    (display_set,) = reports(*paths)
    return display_set


def codes(display_set: DisplaySet) -> list[str]:
    return [m.code for m in display_set.messages]


class _Markup(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def markup(page: str) -> _Markup:
    parser = _Markup()
    parser.feed(page)
    parser.close()
    return parser


# -- safety ----------------------------------------------------------------------


def hostile_report(folder: Path) -> Path:
    return write_report(
        folder,
        "hostile",
        [
            content_item("TEXT", name=code("X1", ATTACK), TextValue=ATTACK),
            content_item("PNAME", name=code("X2", "Observer"), PersonName=ATTACK[:60]),
            content_item(
                "CODE",
                name=code("X3", "Finding"),
                ConceptCodeSequence=[code("<b>", ATTACK, "<i>")],
            ),
            content_item("UIDREF", name=code("X4", "UID"), UID="1.2.3"),
        ],
        title=code("T", f'"><svg onload="alert(2)">{ATTACK}'),
    )


def test_markup_in_a_report_is_shown_as_text_and_never_becomes_markup(
    tmp_path: Path,
) -> None:
    page = StructuredReport(only(hostile_report(tmp_path))).html
    parsed = markup(page)
    assert {"script", "img", "svg", "iframe", "object"} & set(parsed.tags) == set()
    assert [a for a in parsed.attributes if a.startswith("on")] == []
    assert "javascript:" not in page.lower()
    text = "".join(parsed.text)
    # page title, header title, root concept, TEXT concept name and value, code meaning
    assert text.count(ATTACK) == 6
    assert "&lt;script&gt;" in page


def test_the_page_is_self_contained_and_forbids_scripts(tmp_path: Path) -> None:
    page = StructuredReport(only(hostile_report(tmp_path))).html
    parsed = markup(page)
    assert "link" not in parsed.tags
    assert "src" not in parsed.attributes
    assert "default-src 'none'" in page
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page


# -- bad input -------------------------------------------------------------------


def test_a_report_without_content_sequence_still_has_a_display_set(
    tmp_path: Path,
) -> None:
    display_set = only(write_report(tmp_path, "no-content", None))
    assert display_set.attributes["numContentItems"] == 1
    assert codes(display_set) == ["SR_CONTENT_INCOMPLETE"]
    assert "no Content Sequence" in display_set.messages[0].text
    assert "no-content.dcm" in display_set.messages[0].text
    assert "Synthetic report" in StructuredReport(display_set).html


def test_a_report_with_an_empty_content_sequence_says_so(tmp_path: Path) -> None:
    display_set = only(write_report(tmp_path, "empty", []))
    assert codes(display_set) == ["SR_CONTENT_INCOMPLETE"]
    assert "Content Sequence is empty" in display_set.messages[0].text


def test_malformed_items_are_flagged_and_rendered_as_far_as_they_go(
    tmp_path: Path,
) -> None:
    children = [
        content_item(None, name=code("A", "No value type"), TextValue="orphan text"),
        content_item("TEXT", TextValue="text without a name"),
        content_item("NUM", name=code("B", "Diameter")),
        content_item("FANCY", name=code("C", "Future item"), TextValue="kept as data"),
        content_item(
            "TEXT",
            relationship=None,
            name=code("D", "No relationship"),
            TextValue="still shown",
        ),
    ]
    path = write_report(tmp_path, "malformed", children)
    display_set = only(path)
    assert codes(display_set) == ["SR_CONTENT_ITEM_INVALID"]
    text = display_set.messages[0].text
    assert text.startswith(f"{path}: 5 content item(s) are malformed")
    for expected in (
        "1.1: item without Value Type",
        "1.2: TEXT without Concept Name",
        "1.3: NUM item without a measured value",
        "1.4: unknown Value Type 'FANCY'",
        "1.5: item without Relationship Type",
    ):
        assert expected in text
    page = StructuredReport(display_set).html
    for shown in (
        "text without a name",
        "Diameter",
        "TextValue = kept as data",
        "still shown",
        "(value type FANCY)",
    ):
        assert shown in page


def test_values_of_the_wrong_vr_become_messages(tmp_path: Path) -> None:
    num = content_item("NUM", name=code("N", "Volume"))
    measured = Dataset()
    measured.add(DataElement(0x0040A30A, "UT", "not a number"))
    measured.MeasurementUnitsCodeSequence = [code("ml", "milliliter", "UCUM")]
    num.MeasuredValueSequence = [measured]
    scoord = content_item("SCOORD", name=code("S", "Region"), GraphicType="POINT")
    scoord.add(DataElement(0x00700022, "LO", "left\\right"))
    path = write_report(tmp_path, "wrong-vr", [num, scoord])
    display_set = only(path)
    assert codes(display_set) == ["SR_CONTENT_ITEM_INVALID"]
    assert "1.2: cannot read the item's values" in display_set.messages[0].text
    page = StructuredReport(display_set).html
    assert "not a number" in page  # the stored value is still shown
    assert "Region" in page


def test_a_truncated_report_keeps_what_was_read(tmp_path: Path) -> None:
    children = [
        content_item("TEXT", name=code(f"T{i}", f"Finding {i}"), TextValue="x" * 200)
        for i in range(50)
    ]
    whole = write_report(tmp_path, "whole", children)
    cut = tmp_path / "cut.dcm"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    whole.unlink()
    display_set = only(cut)
    assert codes(display_set) == ["TRUNCATED", "SR_CONTENT_INCOMPLETE"]
    assert "Content Sequence ends early" in display_set.messages[1].text
    assert 1 < display_set.attributes["numContentItems"] < 51
    page = StructuredReport(display_set).html
    assert "Finding 0" in page


def test_one_bad_report_does_not_hide_the_others(tmp_path: Path) -> None:
    good = write_report(
        tmp_path,
        "good",
        [content_item("TEXT", name=code("A", "A"), TextValue="fine")],
        number=1,
    )
    bad = write_report(tmp_path, "bad", [content_item(None)], number=2)
    titles = sorted(d.attributes["documentTitle"] for d in reports(good, bad))
    assert titles == ["Synthetic report", "Synthetic report"]


# -- by-reference items ----------------------------------------------------------


def by_reference(relationship: str, *path: int) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ReferencedContentItemIdentifier = list(path)
    return item


def test_by_reference_items_link_dangling_and_cyclic_ones_are_flagged(
    tmp_path: Path,
) -> None:
    target = content_item("TEXT", name=code("A", "Target"), TextValue="the target")
    linked = content_item(
        "CODE",
        name=code("B", "Finding"),
        ConceptCodeSequence=[code("C", "Mass")],
        children=[
            by_reference("INFERRED FROM", 1, 1),  # 1.2.1 -> 1.1
            by_reference("INFERRED FROM", 1, 9),  # dangling
            by_reference("INFERRED FROM", 1),  # its own ancestor
        ],
    )
    loop_a = by_reference("INFERRED FROM", 1, 4)  # 1.3 -> 1.4 -> 1.3
    loop_b = by_reference("INFERRED FROM", 1, 3)
    path = write_report(tmp_path, "refs", [target, linked, loop_a, loop_b])
    display_set = only(path)
    assert codes(display_set) == ["SR_BROKEN_BY_REFERENCE"]
    text = display_set.messages[0].text
    assert "4 by-reference relationship(s)" in text
    for broken in (
        "1.2.2 -> 1.9 (dangling)",
        "1.2.3 -> 1 (cyclic)",
        "1.3 -> 1.4 (cyclic)",
        "1.4 -> 1.3 (cyclic)",
    ):
        assert broken in text
    page = StructuredReport(display_set).html
    assert (
        '<a class="by-reference" href="#item-1.1">see content item 1.1: Target</a>'
        in page
    )
    assert page.count("(dangling reference)") == 1
    assert page.count("(cyclic reference)") == 3
    assert 'id="item-1.1"' in page


# -- value types, character sets, order ------------------------------------------


def test_every_value_type_is_rendered(tmp_path: Path) -> None:
    image_ref = Dataset()
    image_ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    image_ref.ReferencedSOPInstanceUID = "1.2.3.4.5"
    image_ref.ReferencedFrameNumber = [2, 3]
    waveform_ref = Dataset()
    waveform_ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.1"
    waveform_ref.ReferencedSOPInstanceUID = "1.2.3.4.6"
    waveform_ref.ReferencedWaveformChannels = [1, 1]
    measured = Dataset()
    measured.NumericValue = "12.5"
    measured.MeasurementUnitsCodeSequence = [code("mm", "millimeter", "UCUM")]
    table = content_item(
        "TABLE",
        name=code("TB", "Results"),
        NumberOfTableRows=1,
        NumberOfTableColumns=2,
        TableColumnDefinitionSequence=[
            content_item(None, None, code("c1", "Left")),
            content_item(None, None, code("c2", "Right")),
        ],
        children=[
            content_item(
                "TEXT",
                name=code("v", "cell"),
                TextValue="L1",
                TableRowNumber=1,
                TableColumnNumber=1,
            ),
            content_item(
                "TEXT",
                name=code("v", "cell"),
                TextValue="R1",
                TableRowNumber=1,
                TableColumnNumber=2,
            ),
        ],
    )
    children = [
        content_item("TEXT", name=code("1", "Text"), TextValue="line 1\r\nline 2"),
        content_item(
            "CODE", name=code("2", "Code"), ConceptCodeSequence=[code("M", "Mass")]
        ),
        content_item(
            "NUM",
            name=code("3", "Num"),
            MeasuredValueSequence=[measured],
            NumericValueQualifierCodeSequence=[],
        ),
        content_item("DATETIME", name=code("4", "When"), DateTime="20240102030405"),
        content_item("DATE", name=code("5", "Day"), Date="20240102"),
        content_item("TIME", name=code("6", "Hour"), Time="030405"),
        content_item("UIDREF", name=code("7", "Uid"), UID="1.2.3.99"),
        content_item("PNAME", name=code("8", "Person"), PersonName="Doe^Jane^^Dr."),
        content_item(
            "COMPOSITE", name=code("9", "Object"), ReferencedSOPSequence=[image_ref]
        ),
        content_item(
            "IMAGE", name=code("10", "Image"), ReferencedSOPSequence=[image_ref]
        ),
        content_item(
            "WAVEFORM", name=code("11", "Wave"), ReferencedSOPSequence=[waveform_ref]
        ),
        content_item(
            "SCOORD",
            name=code("12", "Area"),
            GraphicType="POLYLINE",
            GraphicData=[1.0, 2.0, 3.5, 4.0],
        ),
        content_item(
            "SCOORD3D",
            name=code("13", "Volume"),
            GraphicType="POINT",
            GraphicData=[1.0, 2.0, 3.0],
            ReferencedFrameOfReferenceUID="1.2.3.7",
        ),
        content_item(
            "TCOORD",
            name=code("14", "Span"),
            TemporalRangeType="SEGMENT",
            ReferencedSamplePositions=[10, 20],
        ),
        table,
    ]
    page = StructuredReport(only(write_report(tmp_path, "all", children))).html
    for shown in (
        "line 1\r\nline 2",
        "Mass",
        "12.5",
        "mm",
        "2024-01-02 03:04:05",
        "2024-01-02",
        "03:04:05",
        "1.2.3.99",
        "Dr. Jane Doe",
        'title="Doe^Jane^^Dr."',
        "CT Image Storage",
        "1.2.3.4.5",
        "frames 2, 3",
        "channels 1, 1",
        "POLYLINE (1, 2) (3.5, 4)",
        "POINT (1, 2, 3)",
        "frame of reference 1.2.3.7",
        "SEGMENT sample positions 10, 20",
        "<th>Left</th><th>Right</th>",
        "<td>",
        "L1",
        "R1",
    ):
        assert shown in page, shown


@pytest.mark.parametrize("implicit", [False, True], ids=["explicit", "implicit"])
def test_iso_2022_japanese_text_decodes_exactly(tmp_path: Path, implicit: bool) -> None:
    text = "やまだ^たろう"
    finding = "所見なし"
    children = [
        content_item("PNAME", name=code("P", "Observer"), PersonName=text),
        content_item(
            "CONTAINER",
            name=code("F", "Findings"),
            children=[
                content_item("TEXT", name=code("J", "Japanese"), TextValue=finding),
            ],
        ),
    ]
    path = write_report(
        tmp_path, "jis", children, charset=["", "ISO 2022 IR 87"], implicit=implicit
    )
    assert b"\x1b$B" in path.read_bytes()  # really written as ISO 2022 escapes
    report = StructuredReport(only(path))
    assert report.tree.index["1.1"].text == text
    assert report.tree.index["1.2.1"].text == finding
    assert finding in report.html


def test_documents_of_a_series_are_newest_first(tmp_path: Path) -> None:
    paths = [
        write_report(tmp_path, f"r{n}", [], number=n, content_time=time)
        for n, time in ((1, "090000"), (2, "170000"), (3, "120000"))
    ]
    ordered = reports(*paths)
    assert [d.attributes["contentTime"] for d in ordered] == [
        "170000",
        "120000",
        "090000",
    ]


def test_a_deep_tree_renders_without_recursion_limits(tmp_path: Path) -> None:
    leaf = content_item("TEXT", name=code("L", "Leaf"), TextValue="deep leaf")
    node = leaf
    for _ in range(150):
        node = content_item("CONTAINER", name=code("C", "Level"), children=[node])
    display_set = only(write_report(tmp_path, "deep", [node]))
    assert display_set.attributes["numContentItems"] == 152
    assert "deep leaf" in StructuredReport(display_set).html

"""Specification of the dicom-pdf plugin: display sets, exact bytes, checks, export."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tracemalloc
from pathlib import Path
from typing import ClassVar

import displaysets_dicom_pdf.plugin as plugin
import pydicom
import pytest
from displaysets import DisplaySet, PluginHost, Severity, scan
from displaysets.errors import ContentError, ExportError
from displaysets.service import DisplaySetService
from displaysets.testing import HandlerContract, require_corpus
from displaysets_dicom_pdf.cda import CdaError, cda_title
from displaysets_dicom_pdf.content import EncapsulatedDocument
from displaysets_dicom_pdf.export import safe_file_stem
from displaysets_dicom_pdf.kinds import normalise_mime_type
from pydicom.uid import DeflatedExplicitVRLittleEndian

TOOLMADE_PDF = "dcmtk_pdf2dcm_report_3pages_odd"
TOOLMADE_PDF_EVEN = "dcmtk_pdf2dcm_summary_1page"
TOOLMADE_CDA = "dcmtk_cda2dcm_synthetic_note"
TOOLMADE_STL = "dcmtk_stl2dcm_cube_10mm"
DCMJS_PDF = "dcmjs_craig-test_encapsulated_pdf"


def toolmade(name: str, suffix: str = ".dcm") -> Path:
    return require_corpus("toolmade", "pdf", name + suffix)


def corpus_pdf() -> Path:
    return require_corpus("pdf", DCMJS_PDF + ".dcm")


def host() -> PluginHost:
    plugin_host = PluginHost(autoload=False, allow=(), block=(), handler_order=())
    plugin_host.register(plugin, "dicom-pdf", distribution="displaysets-dicom-pdf")
    return plugin_host


def scan_one(path: Path) -> tuple[DisplaySetService, DisplaySet]:
    service = scan([path], host=host())
    (display_set,) = service.display_sets
    return service, display_set


def load(path: Path) -> tuple[DisplaySet, EncapsulatedDocument]:
    service, display_set = scan_one(path)
    document = service.load(display_set)
    assert isinstance(document, EncapsulatedDocument)
    return display_set, document


def rewrite(source: Path, target: Path, **changes: object) -> Path:
    """A modified copy of a corpus file (keyword=None deletes the attribute)."""
    dataset = pydicom.dcmread(source)
    for keyword, value in changes.items():
        if value is None:
            if keyword in dataset:
                del dataset[keyword]
        else:
            setattr(dataset, keyword, value)
    dataset.save_as(target, enforce_file_format=True)
    return target


def codes(display_set: DisplaySet, severity: Severity | None = None) -> list[str]:
    return [
        m.code
        for m in display_set.messages
        if severity is None or m.severity is severity
    ]


class TestDicomPdfContract(HandlerContract):
    plugin: ClassVar[object] = plugin
    plugin_name: ClassVar[str] = "dicom-pdf"
    distribution: ClassVar[str] = "displaysets-dicom-pdf"

    def sample_files(self) -> list[Path]:
        folders = [require_corpus("pdf"), require_corpus("toolmade", "pdf")]
        return sorted(p for folder in folders for p in folder.glob("*.dcm"))


# -- display sets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "viewport", "mime_type", "title", "length"),
    [
        (TOOLMADE_PDF, "pdf", "application/pdf", "Synthetic CT report (3 pages)", 2511),
        (
            TOOLMADE_PDF_EVEN,
            "pdf",
            "application/pdf",
            "Synthetic one-page summary",
            1404,
        ),
        (TOOLMADE_CDA, "cda", "text/xml", "Synthetic CDA imaging note", 2413),
        (TOOLMADE_STL, "stl", "model/stl", "Synthetic 10 mm cube", 684),
    ],
)
def test_each_document_is_one_display_set_with_its_fields(
    name: str, viewport: str, mime_type: str, title: str, length: int
) -> None:
    _, display_set = scan_one(toolmade(name))
    record = display_set.to_json()
    assert record["plugin"] == viewport
    assert record["SOPClassHandlerId"] == f"displaysets-dicom-pdf.{viewport}"
    assert record["documentTitle"] == title
    assert record["mimeType"] == mime_type
    assert record["byteLength"] == length
    assert record["numFrames"] == 0
    assert record["messages"] == []


def test_a_document_without_recorded_length_has_its_length_after_loading() -> None:
    service, display_set = scan_one(corpus_pdf())
    assert display_set.attributes["byteLength"] is None
    document = service.load(display_set)
    assert document.length == 369380
    assert display_set.attributes["byteLength"] == 369380


def test_the_sop_class_decides_whatever_the_modality(tmp_path: Path) -> None:
    copy = rewrite(toolmade(TOOLMADE_PDF), tmp_path / "ot.dcm", Modality="OT")
    _, display_set = scan_one(copy)
    assert display_set.plugin == "pdf"
    assert display_set.modality == "OT"


def test_a_series_of_documents_gives_one_display_set_each() -> None:
    service = scan([toolmade(TOOLMADE_PDF), toolmade(TOOLMADE_PDF_EVEN)], host=host())
    titles = sorted(d.attributes["documentTitle"] for d in service.display_sets)
    assert titles == ["Synthetic CT report (3 pages)", "Synthetic one-page summary"]


# -- exact bytes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        (TOOLMADE_PDF, ".source.pdf"),
        (TOOLMADE_PDF_EVEN, ".source.pdf"),
        (TOOLMADE_CDA, ".source.xml"),
        (TOOLMADE_STL, ".source.stl"),
    ],
)
def test_loaded_bytes_equal_the_source_file(name: str, suffix: str) -> None:
    _, document = load(toolmade(name))
    expected = toolmade(name, suffix).read_bytes()
    assert document.read() == expected
    assert b"".join(document.iter_chunks(100)) == expected


def corpus_pdfs() -> list[Path]:
    return [corpus_pdf(), toolmade(TOOLMADE_PDF), toolmade(TOOLMADE_PDF_EVEN)]


@pytest.mark.parametrize("index", range(3))
def test_exported_pdf_equals_dcm2pdf_output(index: int, tmp_path: Path) -> None:
    dcm2pdf = shutil.which("dcm2pdf")
    if dcm2pdf is None:
        pytest.skip("DCMTK dcm2pdf is not installed")
    path = corpus_pdfs()[index]
    subprocess.run([dcm2pdf, str(path), str(tmp_path / "dcmtk.pdf")], check=True)
    service, display_set = scan_one(path)
    (written,) = service.export(display_set, tmp_path / "ours.pdf")
    assert written == tmp_path / "ours.pdf"
    assert written.read_bytes() == (tmp_path / "dcmtk.pdf").read_bytes()


def test_a_pad_nul_after_eof_is_dropped_without_recorded_length(tmp_path: Path) -> None:
    source = toolmade(TOOLMADE_PDF, ".source.pdf").read_bytes()
    assert len(source) % 2 == 1
    copy = rewrite(
        toolmade(TOOLMADE_PDF),
        tmp_path / "nolength.dcm",
        EncapsulatedDocumentLength=None,
    )
    assert len(pydicom.dcmread(copy).EncapsulatedDocument) == len(source) + 1
    _, document = load(copy)
    assert document.read() == source


def test_a_final_nul_not_after_eof_is_kept(tmp_path: Path) -> None:
    content = toolmade(TOOLMADE_PDF_EVEN, ".source.pdf").read_bytes() + b"x\x00"
    copy = rewrite(
        toolmade(TOOLMADE_PDF_EVEN),
        tmp_path / "trailing.dcm",
        EncapsulatedDocument=content,
        EncapsulatedDocumentLength=None,
    )
    _, document = load(copy)
    assert document.read() == content


def test_a_binary_stl_ending_in_nul_keeps_it_without_recorded_length(
    tmp_path: Path,
) -> None:
    source = toolmade(TOOLMADE_STL, ".source.stl").read_bytes()
    assert source.endswith(b"\x00")
    copy = rewrite(
        toolmade(TOOLMADE_STL), tmp_path / "stl.dcm", EncapsulatedDocumentLength=None
    )
    _, document = load(copy)
    assert document.read() == source


def test_a_padded_cda_without_recorded_length_drops_the_pad(tmp_path: Path) -> None:
    source = toolmade(TOOLMADE_CDA, ".source.xml").read_bytes()
    copy = rewrite(
        toolmade(TOOLMADE_CDA), tmp_path / "cda.dcm", EncapsulatedDocumentLength=None
    )
    _, document = load(copy)
    assert document.read() == source


def test_a_deflated_file_is_read_through_the_full_dataset(tmp_path: Path) -> None:
    dataset = pydicom.dcmread(toolmade(TOOLMADE_PDF))
    target = tmp_path / "deflated.dcm"
    dataset.save_as(
        target,
        implicit_vr=False,
        little_endian=True,
        enforce_file_format=True,
    )
    dataset = pydicom.dcmread(target)
    dataset.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    dataset.save_as(target, enforce_file_format=True)
    _, document = load(target)
    assert document.read() == toolmade(TOOLMADE_PDF, ".source.pdf").read_bytes()


# -- lazily computed fields -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "pages"),
    [("corpus", 2), (TOOLMADE_PDF, 3), (TOOLMADE_PDF_EVEN, 1)],
)
def test_page_count_is_read_on_demand(path: str, pages: int) -> None:
    file = corpus_pdf() if path == "corpus" else toolmade(path)
    display_set, document = load(file)
    assert display_set.attributes["pageCount"] is None
    assert document.page_count == pages
    assert display_set.to_json()["pageCount"] == pages


def test_cda_title_comes_from_the_xml() -> None:
    display_set, document = load(toolmade(TOOLMADE_CDA))
    assert document.cda_title == "Synthetic CDA imaging note"
    assert display_set.attributes["cdaTitle"] == "Synthetic CDA imaging note"
    assert document.page_count is None


def test_cda_title_refuses_a_document_type_declaration() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM '
        b'"file:///etc/passwd">]><ClinicalDocument xmlns="urn:hl7-org:v3">'
        b"<title>&x;</title></ClinicalDocument>"
    )
    with pytest.raises(CdaError, match="document type"):
        cda_title([xml])


def test_cda_title_refuses_a_root_that_is_not_a_clinical_document() -> None:
    with pytest.raises(CdaError, match="not an HL7 ClinicalDocument"):
        cda_title([b"<html><title>x</title></html>"])


def test_cda_title_of_a_chunked_document_without_title_is_none() -> None:
    xml = b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1"/></ClinicalDocument>'
    assert cda_title([xml[:10], xml[10:]]) is None


def test_an_unsafe_cda_gets_a_warning_and_no_title(tmp_path: Path) -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>'
        b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&a;</title>'
        b"</ClinicalDocument>"
    )
    copy = rewrite(
        toolmade(TOOLMADE_CDA),
        tmp_path / "dtd.dcm",
        EncapsulatedDocument=xml,
        EncapsulatedDocumentLength=len(xml),
    )
    display_set, document = load(copy)
    assert document.cda_title is None
    assert codes(display_set) == ["CDA_TITLE_UNAVAILABLE"]


# -- MIME types and signatures --------------------------------------------------------


def test_mime_types_are_normalised() -> None:
    assert normalise_mime_type("text/XML") == "text/xml"
    assert normalise_mime_type(" Application/PDF; version=1.7 ") == "application/pdf"
    assert normalise_mime_type(None) == ""


def test_a_mime_alias_is_accepted_and_normalised(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_PDF),
        tmp_path / "alias.dcm",
        MIMETypeOfEncapsulatedDocument="application/x-pdf",
    )
    service, display_set = scan_one(copy)
    assert display_set.attributes["mimeType"] == "application/pdf"
    assert codes(display_set) == ["MIME_TYPE_ALIAS"]
    assert (
        service.load(display_set).read()
        == toolmade(TOOLMADE_PDF, ".source.pdf").read_bytes()
    )


def test_a_mime_type_contradicting_the_sop_class_is_refused(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_PDF),
        tmp_path / "mismatch.dcm",
        MIMETypeOfEncapsulatedDocument="model/stl",
    )
    service, display_set = scan_one(copy)
    assert codes(display_set, Severity.ERROR) == ["MIME_TYPE_MISMATCH"]
    assert display_set.attributes["mimeType"] == "model/stl"
    with pytest.raises(ContentError, match="contradicts the SOP class"):
        service.load(display_set)
    with pytest.raises(ContentError):
        service.export(display_set, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_mime_type_assumes_the_sop_class_type(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_STL),
        tmp_path / "nomime.dcm",
        MIMETypeOfEncapsulatedDocument=None,
    )
    service, display_set = scan_one(copy)
    assert display_set.attributes["mimeType"] == "model/stl"
    assert "MIME_TYPE_MISSING" in codes(display_set, Severity.WARNING)
    assert service.load(display_set).length == 684


def test_content_contradicting_the_signature_is_not_served(tmp_path: Path) -> None:
    stl = toolmade(TOOLMADE_STL, ".source.stl").read_bytes()
    copy = rewrite(
        toolmade(TOOLMADE_PDF),
        tmp_path / "notpdf.dcm",
        EncapsulatedDocument=stl,
        EncapsulatedDocumentLength=len(stl),
    )
    service, display_set = scan_one(copy)
    assert display_set.messages == []
    with pytest.raises(ContentError, match="%PDF-"):
        service.load(display_set)
    assert codes(display_set, Severity.ERROR) == ["SIGNATURE_MISMATCH"]


def test_an_stl_holding_a_pdf_is_not_served(tmp_path: Path) -> None:
    pdf = toolmade(TOOLMADE_PDF_EVEN, ".source.pdf").read_bytes()
    copy = rewrite(
        toolmade(TOOLMADE_STL),
        tmp_path / "notstl.dcm",
        EncapsulatedDocument=pdf,
        EncapsulatedDocumentLength=len(pdf),
    )
    service, display_set = scan_one(copy)
    with pytest.raises(ContentError, match="neither binary STL"):
        service.load(display_set)


# -- missing, empty and truncated documents -------------------------------------------


def test_a_truncated_file_is_refused_and_not_exported(tmp_path: Path) -> None:
    data = corpus_pdf().read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) - 1000])
    service, display_set = scan_one(cut)
    assert "TRUNCATED" in codes(display_set, Severity.ERROR)
    with pytest.raises(ContentError, match="file ends inside the EncapsulatedDocument"):
        service.load(display_set)
    assert "DOCUMENT_TRUNCATED" in codes(display_set, Severity.ERROR)
    with pytest.raises(ContentError):
        service.export(display_set, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_document_is_a_message(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_PDF), tmp_path / "missing.dcm", EncapsulatedDocument=None
    )
    service, display_set = scan_one(copy)
    assert codes(display_set, Severity.ERROR) == ["DOCUMENT_MISSING"]
    with pytest.raises(ContentError, match="no EncapsulatedDocument"):
        service.load(display_set)


def test_an_empty_document_is_a_message(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_PDF),
        tmp_path / "empty.dcm",
        EncapsulatedDocument=b"",
        EncapsulatedDocumentLength=None,
    )
    service, display_set = scan_one(copy)
    assert codes(display_set, Severity.ERROR) == ["DOCUMENT_EMPTY"]
    with pytest.raises(ContentError, match="empty"):
        service.load(display_set)


def test_a_recorded_length_beyond_the_value_is_refused(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_PDF),
        tmp_path / "long.dcm",
        EncapsulatedDocumentLength=4000,
    )
    service, display_set = scan_one(copy)
    assert codes(display_set, Severity.ERROR) == ["DOCUMENT_LENGTH_MISMATCH"]
    assert display_set.attributes["byteLength"] is None
    with pytest.raises(ContentError, match="holds only 2512"):
        service.load(display_set)


def test_a_pdf_cut_short_before_its_eof_is_refused(tmp_path: Path) -> None:
    whole = toolmade(TOOLMADE_PDF, ".source.pdf").read_bytes()
    half = whole[: len(whole) // 2]
    copy = rewrite(
        toolmade(TOOLMADE_PDF),
        tmp_path / "half.dcm",
        EncapsulatedDocument=half + b"\x00" * (len(half) % 2),
        EncapsulatedDocumentLength=len(half),
    )
    service, display_set = scan_one(copy)
    with pytest.raises(ContentError, match="has no %%EOF marker in its last 1024"):
        service.load(display_set)
    assert codes(display_set, Severity.ERROR) == ["DOCUMENT_INCOMPLETE"]
    with pytest.raises(ContentError):
        service.export(display_set, tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_a_recorded_length_short_of_the_eof_is_refused(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_PDF), tmp_path / "short.dcm", EncapsulatedDocumentLength=1200
    )
    service, display_set = scan_one(copy)
    with pytest.raises(ContentError, match="EncapsulatedDocumentLength is too small"):
        service.load(display_set)


def test_one_bad_document_leaves_the_others_whole(tmp_path: Path) -> None:
    cut = tmp_path / "cut.dcm"
    data = toolmade(TOOLMADE_PDF).read_bytes()
    cut.write_bytes(data[:-100])
    good = toolmade(TOOLMADE_STL)
    service = scan([cut, good], host=host())
    by_plugin = {d.plugin: d for d in service.display_sets}
    assert set(by_plugin) == {"pdf", "stl"}
    assert by_plugin["stl"].messages == []
    assert service.load(by_plugin["stl"]).length == 684


# -- export ---------------------------------------------------------------------------


def test_export_to_a_folder_names_the_file_after_the_uid(tmp_path: Path) -> None:
    service, display_set = scan_one(toolmade(TOOLMADE_CDA))
    (written,) = service.export(display_set, tmp_path)
    assert written == tmp_path / f"{display_set.sop_instance_uid}.xml"
    assert written.read_bytes() == toolmade(TOOLMADE_CDA, ".source.xml").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [written.name]


def test_export_never_overwrites_unless_asked(tmp_path: Path) -> None:
    service, display_set = scan_one(toolmade(TOOLMADE_PDF))
    target = tmp_path / "report.pdf"
    target.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="exists"):
        service.export(display_set, target)
    assert target.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]
    service.export(display_set, target, overwrite=True)
    assert target.read_bytes() == toolmade(TOOLMADE_PDF, ".source.pdf").read_bytes()


def test_export_refuses_a_wrong_extension(tmp_path: Path) -> None:
    service, display_set = scan_one(toolmade(TOOLMADE_PDF))
    with pytest.raises(ExportError, match=r"exports as a \.pdf file"):
        service.export(display_set, tmp_path / "report.txt")
    assert list(tmp_path.iterdir()) == []


def test_export_makes_an_unsafe_uid_a_safe_file_name(tmp_path: Path) -> None:
    service, display_set = scan_one(toolmade(TOOLMADE_PDF))
    display_set.sop_instance_uids = ("../../escape",)
    (written,) = service.export(display_set, tmp_path)
    digest = hashlib.sha256(b"../../escape").hexdigest()[:16]
    assert written == tmp_path / f"document-{digest}.pdf"
    assert safe_file_stem("1.2.3") == "1.2.3"


def test_export_streams_a_large_document_without_holding_it(tmp_path: Path) -> None:
    pdf = toolmade(TOOLMADE_PDF_EVEN, ".source.pdf").read_bytes()
    body = pdf[: pdf.rindex(b"%%EOF")]
    large = body + b"%" + b"x" * (20 << 20) + b"\n%%EOF\n"
    copy = rewrite(
        toolmade(TOOLMADE_PDF_EVEN),
        tmp_path / "large.dcm",
        EncapsulatedDocument=large,
        EncapsulatedDocumentLength=len(large),
    )
    expected = hashlib.sha256(large).hexdigest()
    del large
    service, display_set = scan_one(copy)
    tracemalloc.start()
    (written,) = service.export(display_set, tmp_path / "out.pdf")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 << 20
    assert hashlib.sha256(written.read_bytes()).hexdigest() == expected


OBJ_TEXT = b"# tetrahedra\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\n"


@pytest.mark.parametrize(
    ("sop_class_suffix", "mime_type", "viewport", "extension"),
    [("104.4", "model/obj", "obj", ".obj"), ("104.5", "model/mtl", "mtl", ".mtl")],
)
def test_obj_and_mtl_text_is_served_exactly(
    sop_class_suffix: str, mime_type: str, viewport: str, extension: str, tmp_path: Path
) -> None:
    assert len(OBJ_TEXT) % 2 == 1
    copy = rewrite(
        toolmade(TOOLMADE_STL),
        tmp_path / f"{viewport}.dcm",
        SOPClassUID="1.2.840.10008.5.1.4.1.1." + sop_class_suffix,
        MIMETypeOfEncapsulatedDocument=mime_type,
        EncapsulatedDocument=OBJ_TEXT,
        EncapsulatedDocumentLength=None,
    )
    service, display_set = scan_one(copy)
    assert display_set.plugin == viewport
    assert display_set.attributes["mimeType"] == mime_type
    (written,) = service.export(display_set, tmp_path / "out")
    assert written.suffix == extension
    assert written.read_bytes() == OBJ_TEXT


def test_binary_data_in_an_obj_is_not_served(tmp_path: Path) -> None:
    copy = rewrite(
        toolmade(TOOLMADE_STL),
        tmp_path / "binary.dcm",
        SOPClassUID="1.2.840.10008.5.1.4.1.1.104.4",
        MIMETypeOfEncapsulatedDocument="model/obj",
    )
    service, display_set = scan_one(copy)
    with pytest.raises(ContentError, match="binary data, not OBJ text"):
        service.load(display_set)
    assert codes(display_set, Severity.ERROR) == ["SIGNATURE_MISMATCH"]

"""The plugin on the corpus: titles, item counts, Unicode text, key images, TID 1500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pydicom
import pytest
from displaysets import DisplaySet, PluginHost, ReferenceStatus, scan
from displaysets.testing import HandlerContract, corpus_dir, require_corpus
from displaysets_dicom_html import plugin
from displaysets_dicom_html.content import ContentTree, build_tree
from displaysets_dicom_html.document import parse_content
from displaysets_dicom_html.report import StructuredReport
from displaysets_dicom_html.views import DatasetView

CT2 = ("dicomdir", "pydicom_dicomdirtests", "77654033", "CT2")
BIG_REPORT = "highdicom_tid1500_measurement_report_2000_groups"


def sr_files() -> list[Path]:
    files = []
    for folder in (("sr",), ("toolmade", "sr")):
        files += sorted(corpus_dir().joinpath(*folder).glob("*.dcm"))
    return files


def make_host() -> PluginHost:
    host = PluginHost(autoload=False)
    host.register(plugin, "dicom-html", distribution="displaysets-dicom-html")
    return host


def reports(*paths: Path) -> list[DisplaySet]:
    service = scan(list(paths), host=make_host())
    return [d for d in service.display_sets if d.plugin == "html"]


def only_report(*paths: Path) -> DisplaySet:
    (display_set,) = reports(*paths)
    return display_set


def expected(name: str) -> dict[str, Any]:
    path = require_corpus("toolmade", "sr", f"{name}.expected.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


class TestDicomHtmlContract(HandlerContract):
    plugin: ClassVar[object] = plugin
    plugin_name: ClassVar[str] = "dicom-html"
    distribution: ClassVar[str] = "displaysets-dicom-html"

    def sample_files(self) -> list[Path]:
        files = sr_files()
        if not files:
            pytest.skip(f"no SR files in the corpus at {corpus_dir()}")
        return files


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", ["highdicom_comprehensive_sr_utf8", "highdicom_enhanced_sr_latin1"]
)
def test_non_ascii_reports_hold_the_exact_unicode_text(name: str) -> None:
    truth = expected(name)
    path = require_corpus("toolmade", "sr", f"{name}.dcm")
    display_set = only_report(path)
    report = StructuredReport(display_set)
    assert display_set.attributes["documentTitle"] == truth["root_concept"]
    assert str(report.dataset.PatientName) == truth["PatientName"]
    assert (
        StructuredReport(display_set).html.count(f'title="{truth["PatientName"]}"') == 1
    )
    page = report.html
    for entry in truth["items"]:
        item = report.tree.index[entry["path"]]
        assert item.value_type == entry["value_type"]
        assert item.concept_meaning == entry["concept_name"]
        assert f">{entry['concept_name']}<" in page
        if entry["value_type"] in ("TEXT", "PNAME"):
            assert item.text == entry["value"]
            # the stored text itself (PN: in the tooltip; TEXT: as written)
            assert entry["value"] in page
        elif entry["value_type"] == "CODE":
            assert item.code is not None
            assert item.code.meaning == entry["value_code_meaning"]
            assert entry["value_code_meaning"] in page
        elif entry["value_type"] == "IMAGE":
            uid = entry["referenced_sop_instance_uid"]
            assert [r.sop_instance_uid for r in item.references] == [uid]
            assert uid in page


@pytest.mark.corpus
def test_non_ascii_reports_resolve_their_evidence_image() -> None:
    truth = expected("highdicom_comprehensive_sr_utf8")
    evidence = require_corpus("toolmade", "image", truth["evidence_image"])
    sr = require_corpus("toolmade", "sr", "highdicom_comprehensive_sr_utf8.dcm")
    display_set = only_report(sr, evidence)
    image_uid = truth["items"][-1]["referenced_sop_instance_uid"]
    (reference,) = [r for r in display_set.references if r.uid == image_uid]
    assert reference.status is ReferenceStatus.RESOLVED
    assert len(reference.display_set_instance_uids) == 1
    assert [m.code for m in display_set.messages] == []


@pytest.mark.corpus
def test_key_object_selection_lists_and_resolves_its_key_images() -> None:
    truth = expected("highdicom_ko_key_object_selection_ct2")
    ko = require_corpus("toolmade", "sr", "highdicom_ko_key_object_selection_ct2.dcm")
    images = [corpus_dir() / p for p in truth["referenced_files"]]
    service = scan([ko, *images], host=make_host())
    (display_set,) = [d for d in service.display_sets if d.plugin == "html"]
    image_sets = {
        uid: d.display_set_instance_uid
        for d in service.display_sets
        if d.plugin != "html"
        for uid in d.sop_instance_uids
    }
    key_images = display_set.attributes["keyImages"]
    assert [k["SOPInstanceUID"] for k in key_images] == truth[
        "referenced_sop_instance_uids"
    ]
    assert (
        f"{display_set.attributes['documentTitle']} (DCM 113000)"
        == truth["document_title"]
    )
    for uid in truth["referenced_sop_instance_uids"]:
        (reference,) = [r for r in display_set.references if r.uid == uid]
        assert reference.purpose == "key image"
        assert reference.status is ReferenceStatus.RESOLVED
        assert reference.display_set_instance_uids == (image_sets[uid],)
    names = [o.get("name") for o in display_set.attributes["observers"]]
    assert names == [truth["observer_person_name"]]
    page = StructuredReport(display_set).html
    assert truth["key_object_description"] in page


@pytest.mark.corpus
def test_key_images_are_flagged_unresolved_without_their_images() -> None:
    ko = require_corpus("toolmade", "sr", "highdicom_ko_key_object_selection_ct2.dcm")
    display_set = only_report(ko)
    statuses = {r.status for r in display_set.references}
    assert statuses == {ReferenceStatus.UNRESOLVED}
    assert "REFERENCES_UNRESOLVED" in [m.code for m in display_set.messages]


def _oracle_groups(path: Path) -> list[dict[str, Any]]:
    """Measurement groups read with plain pydicom, independently of the plugin."""
    dataset = pydicom.dcmread(path)
    groups = []

    def walk(items: Any) -> None:
        for item in items:
            name = (
                item.ConceptNameCodeSequence[0]
                if "ConceptNameCodeSequence" in item
                else None
            )
            if name is not None and (name.CodeValue, name.CodingSchemeDesignator) == (
                "125007",
                "DCM",
            ):
                group: dict[str, Any] = {"measurements": []}
                for child in item.ContentSequence:
                    code = child.ConceptNameCodeSequence[0]
                    if code.CodeValue == "112039":
                        group["tracking_identifier"] = child.TextValue
                    elif code.CodeValue == "112040":
                        group["tracking_uid"] = child.UID
                    elif code.CodeValue == "121071":
                        group["finding"] = child.ConceptCodeSequence[0].CodeMeaning
                    elif child.ValueType == "NUM":
                        measured = child.MeasuredValueSequence[0]
                        group["measurements"].append(
                            (
                                code.CodeMeaning,
                                float(measured.NumericValue),
                                measured.MeasurementUnitsCodeSequence[0].CodeValue,
                            )
                        )
                    elif child.ValueType == "SCOORD":
                        group["graphic_type"] = child.GraphicType
                        group["image"] = (
                            child.ContentSequence[0]
                            .ReferencedSOPSequence[0]
                            .ReferencedSOPInstanceUID
                        )
                groups.append(group)
            if "ContentSequence" in item:
                walk(item.ContentSequence)

    walk(dataset.ContentSequence)
    return groups


@pytest.mark.corpus
def test_the_large_measurement_report_is_counted_and_extracted_exactly() -> None:
    truth = expected(BIG_REPORT)
    path = require_corpus("toolmade", "sr", f"{BIG_REPORT}.dcm")
    images = [corpus_dir() / p for p in truth["referenced_images"]]
    service = scan([path, *images], host=make_host())
    (display_set,) = [d for d in service.display_sets if d.plugin == "html"]
    attributes = display_set.attributes
    assert attributes["numContentItems"] == truth["content_items_including_root"]
    assert attributes["numMeasurementGroups"] == truth["measurement_groups"]
    assert attributes["isMeasurementReport"] is True
    assert attributes["templateIdentifier"] == "1500"
    image_references = [
        r for r in display_set.references if r.kind.value == "SOPInstanceUID"
    ]
    assert len(image_references) == len(truth["referenced_images"])
    assert {r.status for r in image_references} == {ReferenceStatus.RESOLVED}

    groups = StructuredReport(display_set).measurement_groups
    oracle = _oracle_groups(path)
    assert len(groups) == len(oracle) == truth["measurement_groups"]
    for group, want in zip(groups, oracle, strict=True):
        assert group.tracking_identifier == want["tracking_identifier"]
        assert group.tracking_uid == want["tracking_uid"]
        assert group.finding is not None and group.finding.meaning == want["finding"]
        assert [
            (m.name.meaning if m.name else "", m.value, m.unit.value if m.unit else "")
            for m in group.measurements
        ] == want["measurements"]
        (region,) = group.regions
        assert region.graphic_type == want["graphic_type"]
        assert region.referenced_sop_instance_uids == (want["image"],)
    assert [g.regions[0].graphic_type for g in groups[:2]] == ["CIRCLE", "POLYLINE"]


@pytest.mark.corpus
def test_dcmqi_measurement_report_extracts_derivations_and_finding_sites() -> None:
    path = require_corpus("sr", "dcmqi_sr-example_tid1500_sr.dcm")
    report = StructuredReport(only_report(path))
    (group,) = report.measurement_groups
    dataset = pydicom.dcmread(path)
    assert group.tracking_identifier == "primary tumor"
    derivations = [m.derivation.meaning for m in group.measurements if m.derivation]
    assert derivations[:3] == ["Mean", "Minimum", "Maximum"]
    mean = group.measurements[0]
    assert mean.value == pytest.approx(6.01529)
    assert mean.unit is not None and mean.unit.value == "{SUVbw}g/ml"
    assert [c.meaning for c in group.finding_sites] == ["pharyngeal tonsil (adenoid)"]
    (segment,) = [r for r in group.regions if r.referenced_segment_numbers]
    assert segment.referenced_segment_numbers == (1,)
    assert dataset.SOPInstanceUID == report.display_set.sop_instance_uid


@pytest.mark.corpus
def test_header_fields_of_a_verified_report() -> None:
    display_set = only_report(require_corpus("sr", "pydicom_test-SR.dcm"))
    attributes = display_set.attributes
    assert attributes["documentTitle"] == "Diagnosis"
    assert attributes["completionFlag"] == "COMPLETE"
    assert attributes["verificationFlag"] == "VERIFIED"
    assert (attributes["contentDate"], attributes["contentTime"]) == (
        "20010213",
        "184746",
    )
    assert [o["name"] for o in attributes["observers"]] == [
        "Riesmeier^Jörg",
        "Observer^Verifying",
    ]
    assert attributes["numContentItems"] == 29
    assert attributes["isMeasurementReport"] is False


@pytest.mark.corpus
@pytest.mark.parametrize("path", sr_files(), ids=lambda p: p.name)
def test_fast_reader_and_pydicom_read_the_same_tree(path: Path) -> None:
    from displaysets.sources.reading import read_dataset

    fast = parse_content(read_dataset(str(path)), str(path)).tree
    full = pydicom.dcmread(path)
    slow = ContentTree(build_tree(DatasetView(full)))
    assert [_describe(i) for i in fast.items()] == [_describe(i) for i in slow.items()]


def _describe(item: Any) -> tuple[Any, ...]:
    measurement = item.measurement
    return (
        item.path, item.value_type, item.relationship, item.concept, item.text,
        item.code, item.by_reference, item.continuity, item.template,
        item.observation_datetime, tuple(item.problems),
        (measurement.numeric_value, measurement.floating_point_value, measurement.unit,
         measurement.qualifier) if measurement else None,
        tuple((r.sop_class_uid, r.sop_instance_uid, r.frame_numbers, r.segment_numbers)
              for r in item.references),
        item.coordinates,
    )  # fmt: skip


@pytest.mark.corpus
def test_export_writes_the_html_page(tmp_path: Path) -> None:
    from displaysets.errors import ExportError

    path = require_corpus("sr", "pydicom_test-SR.dcm")
    service = scan([path], host=make_host())
    (display_set,) = service.display_sets
    target = tmp_path / "report.html"
    assert service.export(display_set, target) == [target]
    assert target.read_bytes().decode("utf-8") == StructuredReport(display_set).html
    with pytest.raises(ExportError, match="exists"):
        service.export(display_set, target)
    assert service.export(display_set, target, overwrite=True) == [target]
    folder = tmp_path / "out"
    folder.mkdir()
    written = service.export(display_set, folder)
    assert written == [folder / f"{display_set.sop_instance_uid}.html"]

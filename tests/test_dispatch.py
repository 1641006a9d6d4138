"""Dispatch: groups by series and SOP class, partial claims, isolation, explain."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from displaysets.handlers import Claim, HandlerModule, Offer
from displaysets.hookspecs import hookimpl
from displaysets.plugins import PluginHost
from displaysets.records import DisplaySet
from displaysets.service import DisplaySetService
from displaysets.sources.files import FileSource
from displaysets.testing import isolated_host
from factories import CT_IMAGE, ECG, PDF


def plugin_with(*modules: HandlerModule) -> SimpleNamespace:
    @hookimpl
    def get_sop_class_handler_module() -> list[HandlerModule]:
        return list(modules)

    return SimpleNamespace(get_sop_class_handler_module=get_sop_class_handler_module)


def scan_files(host: PluginHost, *paths: Path) -> DisplaySetService:
    service = DisplaySetService(host)
    service.add_source(FileSource(list(paths)))
    return service


def coverage(display_sets: list[DisplaySet]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for display_set in display_sets:
        for uid in display_set.sop_instance_uids:
            counts[uid] = counts.get(uid, 0) + 1
    return counts


def test_a_series_is_split_by_sop_class(write_dicom: Callable[..., Path]) -> None:
    ct = write_dicom(sop_class_uid=CT_IMAGE)
    ecg = write_dicom(sop_class_uid=ECG, pixels=False)
    service = scan_files(isolated_host(), ct, ecg)
    groups = [(g.sop_class_uid, g.num_instances) for g in service.explain()]
    assert groups == [(CT_IMAGE, 1), (ECG, 1)]
    assert [d.plugin for d in service.display_sets] == ["stack", "unsupported"]


def test_a_handler_may_claim_part_of_a_group_and_the_rest_goes_on(
    write_dicom: Callable[..., Path],
) -> None:
    def claim_odd(offer: Offer) -> Claim:
        claim = Claim()
        odd = [i for i in offer.instances if (i.instance_number or 0) % 2]
        even = [i for i in offer.instances if not (i.instance_number or 0) % 2]
        if odd:
            claim.display_sets.append(offer.display_set(odd))
        claim.decline(even, "even instance numbers are not ECGs I know")
        return claim

    handler = HandlerModule(
        id="test.odd",
        sop_class_uids=(ECG,),
        get_display_sets_from_series=claim_odd,
        viewport="ecg",
    )
    paths = [
        write_dicom(sop_class_uid=ECG, pixels=False, InstanceNumber=n)
        for n in range(1, 5)
    ]
    service = scan_files(isolated_host((plugin_with(handler), "odd")), *paths)
    assert sorted((d.plugin, d.num_instances) for d in service.display_sets) == [
        ("ecg", 2),
        ("unsupported", 2),
    ]
    (group,) = service.explain()
    first, fallback = group.verdicts
    assert (first.handler_id, first.outcome, first.claimed) == (
        "test.odd",
        "partly claimed",
        2,
    )
    assert [(len(d.sop_instance_uids), d.reason) for d in first.declined] == [
        (2, "even instance numbers are not ECGs I know")
    ]
    assert (fallback.handler_id, fallback.claimed) == ("displaysets.unsupported", 2)


def test_a_handler_that_raises_yields_an_error_display_set_and_others_proceed(
    write_dicom: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    def explode(offer: Offer) -> list[DisplaySet]:
        raise ZeroDivisionError("bad waveform")

    handler = HandlerModule(
        id="test.explode",
        sop_class_uids=(ECG,),
        get_display_sets_from_series=explode,
        viewport="ecg",
    )
    ecg = write_dicom(sop_class_uid=ECG, pixels=False, series="1.2.3.4.7")
    ct = write_dicom(sop_class_uid=CT_IMAGE, series="1.2.3.4.8")
    service = scan_files(isolated_host((plugin_with(handler), "explode")), ecg, ct)
    by_series = {d.series_instance_uid: d for d in service.display_sets}
    failed = by_series["1.2.3.4.7"]
    assert failed.plugin == "error"
    assert [m.code for m in failed.messages] == ["HANDLER_ERROR"]
    assert failed.messages[0].text == (
        "handler test.explode (plugin explode) failed on 1 instance(s) of "
        "'12-lead ECG Waveform Storage' (1.2.840.10008.5.1.4.1.1.9.1.1): "
        "ZeroDivisionError: bad waveform"
    )
    assert by_series["1.2.3.4.8"].plugin == "stack"
    assert "bad waveform" in caplog.text
    verdict = service.explain()[0].verdicts[0]
    assert (verdict.outcome, verdict.error) == (
        "raised",
        "ZeroDivisionError: bad waveform",
    )


def test_a_handler_claiming_what_it_was_not_offered_is_an_error(
    write_dicom: Callable[..., Path],
) -> None:
    def greedy(offer: Offer) -> list[DisplaySet]:
        display_set = offer.display_set(offer.instances)
        display_set.sop_instance_uids = (*display_set.sop_instance_uids, "1.2.999")
        return [display_set]

    handler = HandlerModule(
        id="test.greedy",
        sop_class_uids=(ECG,),
        get_display_sets_from_series=greedy,
        viewport="ecg",
    )
    path = write_dicom(sop_class_uid=ECG, pixels=False)
    service = scan_files(isolated_host((plugin_with(handler), "greedy")), path)
    (display_set,) = service.display_sets
    assert display_set.plugin == "error"
    assert display_set.messages[0].text.endswith(
        "HandlerContractError: claimed instance 1.2.999, not offered to it"
    )


def test_an_unclaimed_instance_names_its_sop_class_and_the_plugin_to_install(
    write_dicom: Callable[..., Path],
) -> None:
    path = write_dicom(sop_class_uid=PDF, pixels=False, Modality="DOC")
    (display_set,) = scan_files(isolated_host(), path).display_sets
    assert display_set.plugin == "unsupported"
    assert display_set.sop_class_name == "Encapsulated PDF Storage"
    assert [(m.code, m.severity.value, m.text) for m in display_set.messages] == [
        (
            "UNSUPPORTED_SOP_CLASS",
            "warning",
            "no installed handler displays 'Encapsulated PDF Storage' "
            "(1.2.840.10008.5.1.4.1.1.104.1) (1 instance); "
            "install displaysets-dicom-pdf to display it",
        )
    ]
    assert display_set.attributes["installHint"] == "displaysets-dicom-pdf"


def test_an_unknown_private_sop_class_is_unsupported_without_a_hint(
    write_dicom: Callable[..., Path],
) -> None:
    path = write_dicom(sop_class_uid="2.25.1234", pixels=False)
    (display_set,) = scan_files(isolated_host(), path).display_sets
    assert display_set.messages[0].text == (
        "no installed handler displays 'Unknown SOP Class' (2.25.1234) (1 instance)"
    )
    assert "installHint" not in display_set.attributes


def test_objects_without_pixel_data_never_reach_the_image_handler_as_images(
    write_dicom: Callable[..., Path],
) -> None:
    path = write_dicom(sop_class_uid=CT_IMAGE, pixels=False)
    service = scan_files(isolated_host(), path)
    (display_set,) = service.display_sets
    assert display_set.plugin == "unsupported"
    image_verdict = service.explain()[0].verdicts[0]
    assert image_verdict.handler_id == "displaysets.images"
    assert [d.reason for d in image_verdict.declined] == ["no pixel data: not an image"]
    assert [(m.code, m.text) for m in display_set.messages] == [
        (
            "DECLINED_BY_HANDLERS",
            "'CT Image Storage' (1.2.840.10008.5.1.4.1.1.2) (1 instance) was declined "
            "by displaysets.images (no pixel data: not an image)",
        )
    ]


def test_an_identical_copy_is_counted_once(
    write_dicom: Callable[..., Path], tmp_path: Path
) -> None:
    original = write_dicom(sop_instance_uid="1.2.3.4.5.6")
    copy = tmp_path / "copy" / "same.dcm"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    service = scan_files(isolated_host(), original, copy)
    assert len(service.display_sets) == 1
    assert service.identical_copies == 1
    assert service.problems == []


def test_a_conflicting_duplicate_is_reported_and_both_are_kept(
    write_dicom: Callable[..., Path],
) -> None:
    first = write_dicom(sop_instance_uid="1.2.3.4.5.6", PatientName="First^Copy")
    second = write_dicom(sop_instance_uid="1.2.3.4.5.6", PatientName="Second^Copy")
    service = scan_files(isolated_host(), first, second)
    display_sets = service.display_sets
    assert len(display_sets) == 2
    assert len({d.display_set_instance_uid for d in display_sets}) == 2
    assert [p.code for p in service.problems] == ["DUPLICATE_SOP_INSTANCE_UID"]
    assert service.problems[0].location == str(second)
    flagged = sorted(
        d.instances[0].location
        for d in display_sets
        if any(m.code == "DUPLICATE_SOP_INSTANCE_UID" for m in d.messages)
    )
    assert flagged == sorted([str(first), str(second)])


def test_conflicting_duplicates_get_the_same_uids_in_any_order(
    write_dicom: Callable[..., Path],
) -> None:
    first = write_dicom(sop_instance_uid="1.2.3.4.5.6", PatientName="First^Copy")
    second = write_dicom(sop_instance_uid="1.2.3.4.5.6", PatientName="Second^Copy")
    forward = scan_files(isolated_host(), first, second).display_sets
    backward = scan_files(isolated_host(), second, first).display_sets

    def uid_by_file(display_sets: list[DisplaySet]) -> dict[str, str]:
        return {
            d.instances[0].location: d.display_set_instance_uid for d in display_sets
        }

    assert uid_by_file(forward) == uid_by_file(backward)


def test_adding_instances_later_redispatches_only_that_series(
    write_dicom: Callable[..., Path],
) -> None:
    service = DisplaySetService(isolated_host())
    service.add_source(FileSource([write_dicom(series="1.2.3.4.1", InstanceNumber=1)]))
    (first,) = service.display_sets
    service.add_source(FileSource([write_dicom(series="1.2.3.4.2")]))
    after = {d.series_instance_uid: d for d in service.display_sets}
    assert sorted(after) == ["1.2.3.4.1", "1.2.3.4.2"]
    assert after["1.2.3.4.1"] is first
    assert service.get(first.display_set_instance_uid) is first
    with pytest.raises(KeyError):
        service.get("2.25.1")


def test_every_instance_lands_in_exactly_one_display_set(
    write_dicom: Callable[..., Path],
) -> None:
    paths = [
        write_dicom(sop_class_uid=uid, pixels=pixels)
        for uid, pixels in (
            (CT_IMAGE, True),
            (CT_IMAGE, False),
            (ECG, False),
            (PDF, False),
            ("2.25.9", True),
        )
    ]
    service = scan_files(isolated_host(), *paths)
    assert coverage(service.display_sets) == {
        i.sop_instance_uid: 1 for i in service.instances
    }
    assert len(service.instances) == 5

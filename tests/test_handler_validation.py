"""Handler modules are validated when they register, with errors naming the field."""

from __future__ import annotations

import pytest
from displaysets.errors import HandlerModuleError
from displaysets.handlers import HandlerModule, validate_handler_module


def _make_display_sets(offer):  # type: ignore[no-untyped-def]
    return []


GOOD = {
    "id": "example.ecg",
    "sop_class_uids": ("1.2.840.10008.5.1.4.1.1.9.1.1",),
    "get_display_sets_from_series": _make_display_sets,
    "viewport": "ecg",
}


def _error(candidate: object) -> HandlerModuleError:
    with pytest.raises(HandlerModuleError) as caught:
        validate_handler_module(candidate, plugin="ecg", distribution="example-ecg")
    return caught.value


def test_a_mapping_with_the_contract_fields_becomes_a_handler_module() -> None:
    module = validate_handler_module(GOOD, plugin="ecg")
    assert module == HandlerModule(**GOOD)  # type: ignore[arg-type]


def test_a_misspelled_field_is_named_with_a_suggestion() -> None:
    candidate = {**GOOD, "sop_class_uid": GOOD["sop_class_uids"]}
    del candidate["sop_class_uids"]
    error = _error(candidate)
    assert error.field == "sop_class_uid"
    assert str(error) == (
        "plugin 'ecg' (distribution example-ecg): handler module field "
        "'sop_class_uid': unknown field; did you mean 'sop_class_uids'?"
    )


def test_a_missing_required_field_is_named() -> None:
    candidate = dict(GOOD)
    del candidate["get_display_sets_from_series"]
    error = _error(candidate)
    assert (error.field, error.reason) == (
        "get_display_sets_from_series",
        "required field is missing",
    )


@pytest.mark.parametrize(
    ("uid", "reason"),
    [
        (
            "1.2.840.10008.5.1.4.1.1.09",
            "'1.2.840.10008.5.1.4.1.1.09' is not a valid UID",
        ),
        ("1.2.3.", "'1.2.3.' is not a valid UID"),
        ("1." + "2" * 70, f"'1.{'2' * 70}' is not a valid UID"),
    ],
)
def test_a_malformed_uid_is_refused(uid: str, reason: str) -> None:
    error = _error({**GOOD, "sop_class_uids": (uid,)})
    assert (error.field, error.reason) == ("sop_class_uids", reason)


def test_every_malformed_uid_is_named_at_once() -> None:
    error = _error({**GOOD, "sop_class_uids": ("1.2.x", "1.2.3", "abc")})
    assert error.reason == "'1.2.x', 'abc' are not valid UIDs"


def test_a_single_string_instead_of_a_sequence_of_uids_is_refused() -> None:
    error = _error({**GOOD, "sop_class_uids": "1.2.3"})
    assert error.field == "sop_class_uids"
    assert error.reason == "must be a sequence of UIDs, got '1.2.3'"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("priority", "high", "must be an int, got 'high'"),
        ("priority", True, "must be an int, got True"),
        ("load", "not callable", "must be callable, got str"),
        (
            "viewport",
            "PDF Viewer",
            "must be a lower-case key such as 'pdf', got 'PDF Viewer'",
        ),
        ("id", "", "must be a non-empty identifier string, got ''"),
    ],
)
def test_a_wrong_type_is_refused(field: str, value: object, reason: str) -> None:
    error = _error({**GOOD, field: value})
    assert (error.field, error.reason) == (field, reason)


def test_something_that_is_not_a_handler_module_is_refused() -> None:
    error = _error(42)
    assert error.reason == "expected a HandlerModule or a mapping, got int"

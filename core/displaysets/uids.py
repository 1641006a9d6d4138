"""UID helpers: deterministic display set UIDs and SOP class names from pydicom."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Final

DISPLAYSETS_NAMESPACE: Final = uuid.UUID("6f1d3c2e-8f4b-5a7e-9c1d-2b3a4c5d6e7f")
"""Namespace of the name-based UUIDs behind display set UIDs; never change it."""

_UID_PATTERN: Final = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def is_valid_uid(value: object) -> bool:
    """True for a syntactically valid UID (PS3.5 9.1): digits and dots, max 64."""
    return (
        isinstance(value, str) and len(value) <= 64 and bool(_UID_PATTERN.match(value))
    )


def sop_class_name(sop_class_uid: str) -> str:
    """The SOP class's name from pydicom's UID dictionary, or a neutral label."""
    if not sop_class_uid:
        return "Unknown SOP Class (no SOP Class UID)"
    from pydicom.uid import UID  # here, so that plugin discovery needs no pydicom

    from displaysets.sop_classes import NAMES_NEWER_THAN_PYDICOM

    name = UID(sop_class_uid).name
    if name == sop_class_uid:
        return NAMES_NEWER_THAN_PYDICOM.get(sop_class_uid, "Unknown SOP Class")
    return name


def describe_sop_class(sop_class_uid: str) -> str:
    """``'Name' (UID)`` as messages cite a SOP class."""
    if not sop_class_uid:
        return "an instance without a SOP Class UID"
    return f"{sop_class_name(sop_class_uid)!r} ({sop_class_uid})"


def safe_file_stem(uid: str, prefix: str = "display-set") -> str:
    """A file name stem for an export: the UID when it is a valid UID (digits and
    dots only), else ``<prefix>-<digest>``, so no DICOM value can steer a path."""
    if is_valid_uid(uid):
        return uid
    import hashlib

    return f"{prefix}-{hashlib.sha256(uid.encode('utf-8', 'replace')).hexdigest()[:16]}"


def deterministic_uid(parts: Iterable[str]) -> str:
    """A ``2.25.`` UID derived from ``parts``: the same parts give the same UID.

    The parts are joined unambiguously and turned into a name-based (version 5) UUID,
    written as the decimal integer PS3.5 B.2 prescribes for UUID-derived UIDs.
    """
    name = "\x1f".join(parts)
    return f"2.25.{uuid.uuid5(DISPLAYSETS_NAMESPACE, name).int}"

"""Small, tolerant readers of DICOM metadata values used by the microscopy handlers.

Every function here takes a pydicom ``Dataset`` (or ``None``) and returns plain Python
values, or ``None`` when an attribute is absent or malformed, so the handlers can turn
gaps into messages instead of exceptions.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from displaysets.model import finite_numbers, value_of
from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)


def text(dataset: Dataset | None, keyword: str) -> str | None:
    """A single-valued string attribute, stripped; ``None`` when absent or empty."""
    if dataset is None:
        return None
    value = value_of(dataset, keyword)
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = "\\".join(str(v) for v in value)
    result = str(value).strip()
    return result or None


def integer(dataset: Dataset | None, keyword: str) -> int | None:
    """An integer attribute; ``None`` when absent or not a whole number."""
    if dataset is None:
        return None
    try:
        value = value_of(dataset, keyword)
        if value is None or value == "":
            return None
        return int(value)
    except (TypeError, ValueError):
        return None


def number(dataset: Dataset | None, keyword: str) -> float | None:
    """A finite decimal attribute; ``None`` when absent or malformed."""
    if dataset is None:
        return None
    try:
        value = value_of(dataset, keyword)
        if value is None or value == "":
            return None
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def numbers(dataset: Dataset | None, keyword: str, count: int) -> list[float] | None:
    """A multi-valued decimal attribute with exactly ``count`` finite values."""
    values = finite_numbers(value_of(dataset, keyword), count)
    return list(values) if values is not None else None


def strings(dataset: Dataset | None, keyword: str) -> list[str]:
    """A multi-valued string attribute as a list (empty when absent)."""
    if dataset is None:
        return []
    value = value_of(dataset, keyword)
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    try:
        return [str(v).strip() for v in value]
    except TypeError:
        return [str(value).strip()]


def first_item(dataset: Dataset | None, *path: str) -> Dataset | None:
    """The first item at the end of a path of sequence keywords, or ``None``."""
    node = dataset
    for keyword in path:
        if node is None:
            return None
        sequence = value_of(node, keyword)
        if not sequence:
            return None
        try:
            node = sequence[0]
        except (TypeError, IndexError):
            return None
    return node if isinstance(node, Dataset) else None


def items(dataset: Dataset | None, keyword: str) -> list[Dataset]:
    """The items of a sequence attribute (empty when absent or not a sequence)."""
    if dataset is None:
        return []
    sequence = value_of(dataset, keyword)
    if not sequence:
        return []
    try:
        return [item for item in sequence if isinstance(item, Dataset)]
    except TypeError:
        return []


def code(item: Dataset | None) -> dict[str, str] | None:
    """A code sequence item as ``{"value", "scheme", "meaning"}``."""
    if item is None:
        return None
    value = (
        text(item, "CodeValue")
        or text(item, "LongCodeValue")
        or text(item, "URNCodeValue")
    )
    meaning = text(item, "CodeMeaning")
    if value is None and meaning is None:
        return None
    return {
        "value": value or "",
        "scheme": text(item, "CodingSchemeDesignator") or "",
        "meaning": meaning or "",
    }


def codes(dataset: Dataset | None, keyword: str) -> list[dict[str, str]]:
    """Every item of a code sequence attribute, as :func:`code` dictionaries."""
    found = []
    for item in items(dataset, keyword):
        converted = code(item)
        if converted is not None:
            found.append(converted)
    return found


def transfer_syntax_uid(dataset: Dataset) -> str | None:
    """The transfer syntax of an instance: File Meta, else AvailableTransferSyntaxUID
    (which WADO-RS metadata may carry), else ``None``."""
    meta: Any = getattr(dataset, "file_meta", None)
    if meta is not None:
        value = text(meta, "TransferSyntaxUID")
        if value:
            return value
    return text(dataset, "AvailableTransferSyntaxUID") or text(
        dataset, "TransferSyntaxUID"
    )

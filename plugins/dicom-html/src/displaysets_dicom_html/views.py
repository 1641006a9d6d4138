"""Uniform read access to a content item, whether it is raw bytes or a pydicom Dataset.

The content tree is built through an :class:`ItemView`, so the same code reads items
parsed by :mod:`displaysets_dicom_html.rawparse` (fast, for local files) and items of a
pydicom ``Dataset`` (DICOM JSON, DICOMweb, and the fallback). Text is decoded with the
Specific Character Set in force for the item, inherited from the enclosing dataset
unless the item declares its own.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator, Sequence
from typing import Any, Final, Protocol

from displaysets_dicom_html import tags as t
from displaysets_dicom_html.codes import Code
from displaysets_dicom_html.rawparse import RawItem, dictionary_vr

logger = logging.getLogger(__name__)

SPECIFIC_CHARACTER_SET: Final = 0x00080005
_TEXT_VRS: Final = frozenset({"SH", "LO", "ST", "LT", "UT", "PN", "UC"})
_SINGLE_VALUE_VRS: Final = frozenset({"ST", "LT", "UT"})
_BINARY_FORMATS: Final = {
    "FL": "f",
    "FD": "d",
    "UL": "L",
    "SL": "l",
    "US": "H",
    "SS": "h",
    "UV": "Q",
    "SV": "q",
    "OF": "f",
    "OD": "d",
    "OL": "L",
}


class ItemView(Protocol):
    """What the content tree builder needs to read from one item."""

    def has(self, tag: int) -> bool: ...

    def vr(self, tag: int) -> str: ...

    def tags(self) -> list[int]: ...

    def string(self, tag: int) -> str: ...

    def strings(self, tag: int) -> list[str]: ...

    def numbers(self, tag: int) -> list[float]: ...

    def items(self, tag: int) -> Sequence[ItemView]: ...

    def code(self) -> Code: ...


class CharacterSet:
    """Python codecs for one value of Specific Character Set."""

    def __init__(self, value: Sequence[str] | str | None) -> None:
        from pydicom.charset import convert_encodings

        if value is None or value == "":
            terms: list[str] = ["ISO_IR 6"]
        elif isinstance(value, str):
            terms = [value]
        else:
            terms = [str(v) for v in value] or ["ISO_IR 6"]
        self.terms = tuple(terms)
        try:
            self.encodings = convert_encodings(terms)
        except Exception:  # pydicom warns or raises for unknown terms
            self.encodings = ["iso8859"]
        self._simple = len(self.encodings) == 1 and not terms[0].startswith("ISO 2022")

    def decode(self, value: bytes, vr: str) -> str:
        if self._simple and b"\x1b" not in value:
            codec = self.encodings[0]
            if codec == "iso8859":
                codec = "latin_1"
            try:
                return value.decode(codec)
            except (UnicodeDecodeError, LookupError):
                return value.decode(
                    codec if codec != "iso8859" else "latin_1", "replace"
                )
        from pydicom.charset import decode_bytes

        if vr == "PN":
            return "=".join(
                decode_bytes(part, self.encodings, {0x5E}) for part in value.split(b"=")
            )
        return decode_bytes(
            value, self.encodings, {0x5C} if vr not in _SINGLE_VALUE_VRS else set()
        )


_DEFAULT_CHARSET = CharacterSet(None)


def _strip(text: str, vr: str) -> str:
    if vr in _SINGLE_VALUE_VRS:
        return text.rstrip(" \x00")
    return text.strip(" \x00")


class RawView:
    """An item parsed by :class:`~displaysets_dicom_html.rawparse.RawReader`."""

    __slots__ = ("_charset", "_item", "_little")

    def __init__(
        self, item: RawItem, charset: CharacterSet, little_endian: bool
    ) -> None:
        self._item = item
        self._little = little_endian
        own = item.get(SPECIFIC_CHARACTER_SET)
        if own is not None and isinstance(own[1], bytes):
            values = [v.strip() for v in own[1].decode("ascii", "replace").split("\\")]
            charset = CharacterSet(values)
        self._charset = charset

    def has(self, tag: int) -> bool:
        return tag in self._item

    def vr(self, tag: int) -> str:
        entry = self._item.get(tag)
        if entry is None:
            return ""
        vr = entry[0]
        if vr in ("UN", "OB") and isinstance(entry[1], bytes):
            return dictionary_vr(tag)
        return vr

    def tags(self) -> list[int]:
        return list(self._item)

    def string(self, tag: int) -> str:
        entry = self._item.get(tag)
        if entry is None:
            return ""
        vr, value = entry
        if not isinstance(value, bytes):
            return ""
        kind = _VR_KINDS.get(vr, 0)
        if kind == 0:
            return value.decode("ascii", "replace").strip(" \x00")
        if kind == 3:  # UN or OB: read as the dictionary says
            vr = dictionary_vr(tag)
            kind = _VR_KINDS.get(vr, 0)
            if kind in (0, 3):
                return value.decode("ascii", "replace").strip(" \x00")
        if kind == 2:
            return "\\".join(_number_text(n) for n in self.numbers(tag))
        return _strip(self._charset.decode(value, vr), vr)

    def code(self) -> Code:
        get = self._item.get
        key = (
            get(t.CODE_VALUE),
            get(t.CODING_SCHEME_DESIGNATOR),
            get(t.CODE_MEANING),
            get(t.CODING_SCHEME_VERSION),
            get(t.LONG_CODE_VALUE),
            get(t.URN_CODE_VALUE),
            self._charset,
        )
        cached = _code_cache.get(key)
        if cached is None:
            cached = _code_from_view(self)
            if len(_code_cache) < 4096:
                _code_cache[key] = cached
        return cached

    def strings(self, tag: int) -> list[str]:
        text = self.string(tag)
        if not text:
            return []
        if self.vr(tag) in _SINGLE_VALUE_VRS:
            return [text]
        return [part.strip(" \x00") for part in text.split("\\")]

    def numbers(self, tag: int) -> list[float]:
        entry = self._item.get(tag)
        if entry is None or not isinstance(entry[1], bytes):
            return []
        value = entry[1]
        vr = self.vr(tag)
        code = _BINARY_FORMATS.get(vr)
        if code is not None:
            size = struct.calcsize("<" + code)
            count = len(value) // size
            order = "<" if self._little else ">"
            return list(struct.unpack_from(f"{order}{count}{code}", value))
        return [
            float(part)
            for part in value.decode("ascii", "replace").split("\\")
            if part.strip(" \x00")
        ]

    def items(self, tag: int) -> list[RawView]:
        entry = self._item.get(tag)
        if entry is None or isinstance(entry[1], bytes):
            return []
        return [RawView(i, self._charset, self._little) for i in entry[1]]


_code_cache: dict[tuple[Any, ...], Code] = {}
"""Codes already decoded, keyed by their encoded values and character set."""
_VR_KINDS: Final = {
    **dict.fromkeys(_TEXT_VRS, 1),
    **dict.fromkeys(_BINARY_FORMATS, 2),
    "UN": 3,
    "OB": 3,
}
"""VR -> 0 ASCII text, 1 text in the character set, 2 binary numbers, 3 untyped."""


def _code_from_view(view: ItemView) -> Code:
    value = (
        view.string(t.CODE_VALUE)
        or view.string(t.LONG_CODE_VALUE)
        or view.string(t.URN_CODE_VALUE)
    )
    return Code(
        value,
        view.string(t.CODING_SCHEME_DESIGNATOR),
        view.string(t.CODE_MEANING),
        view.string(t.CODING_SCHEME_VERSION),
    )


def _number_text(number: float) -> str:
    return repr(number) if isinstance(number, float) else str(number)


class DatasetView:
    """An item of a pydicom ``Dataset`` (pydicom decodes its character sets)."""

    __slots__ = ("_dataset",)

    def __init__(self, dataset: Any) -> None:
        self._dataset = dataset

    def _element(self, tag: int) -> Any:
        try:
            return self._dataset.get(tag)
        except Exception as error:  # a value pydicom cannot convert
            logger.debug("cannot convert (%08X): %s", tag, error)
            return None

    def has(self, tag: int) -> bool:
        return tag in self._dataset

    def vr(self, tag: int) -> str:
        element = self._element(tag)
        if element is None:
            return ""
        vr = str(element.VR)
        return dictionary_vr(tag) if vr in ("UN", "OB") else vr

    def tags(self) -> list[int]:
        return [int(t) for t in self._dataset]

    def _values(self, tag: int) -> list[Any]:
        element = self._element(tag)
        if element is None or element.value is None or element.VR == "SQ":
            return []
        value = element.value
        if isinstance(value, (bytes, bytearray)):
            return [value]
        if isinstance(value, str) or not isinstance(value, Sequence):
            return [value]
        return list(value)

    def string(self, tag: int) -> str:
        values = self._values(tag)
        if not values:
            return ""
        parts = []
        for value in values:
            if isinstance(value, (bytes, bytearray)):
                parts.append(bytes(value).decode("latin_1").strip(" \x00"))
            elif type(value) is float:
                parts.append(_number_text(value))
            else:
                parts.append(str(value))
        text = "\\".join(parts)
        return _strip(text, self.vr(tag))

    def strings(self, tag: int) -> list[str]:
        values = self._values(tag)
        if len(values) == 1 and isinstance(values[0], (bytes, bytearray)):
            return [p for p in self.string(tag).split("\\") if p]
        return (
            [s for s in (str(v).strip(" \x00") for v in values) if s] if values else []
        )

    def numbers(self, tag: int) -> list[float]:
        values = self._values(tag)
        numbers: list[float] = []
        for value in values:
            if isinstance(value, (bytes, bytearray)):
                vr = self.vr(tag)
                code = _BINARY_FORMATS.get(vr)
                if code is None:
                    numbers.extend(
                        float(p)
                        for p in bytes(value).decode("ascii").split("\\")
                        if p.strip()
                    )
                else:
                    count = len(value) // struct.calcsize("<" + code)
                    numbers.extend(struct.unpack_from(f"<{count}{code}", value))
            elif value not in (None, ""):
                numbers.append(float(value) if not isinstance(value, int) else value)
        return numbers

    def code(self) -> Code:
        return _code_from_view(self)

    def items(self, tag: int) -> list[DatasetView]:
        element = self._element(tag)
        if element is None or element.VR != "SQ" or not element.value:
            return []
        return [DatasetView(item) for item in element.value]


def iter_tree(view: ItemView, tag: int) -> Iterator[ItemView]:
    """Every item under ``view`` through sequences ``tag``, depth first."""
    for item in view.items(tag):
        yield item
        yield from iter_tree(item, tag)

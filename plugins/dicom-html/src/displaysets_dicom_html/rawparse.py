"""A small reader for the encoded bytes of an SR content tree.

pydicom turns every element of every content item into a ``DataElement`` object, which
takes seconds for a report with tens of thousands of items. This reader walks the bytes
of one sequence value (explicit or implicit VR, little or big endian) into plain nested
dicts of ``tag -> (VR, bytes or list of items)``; values are decoded only when asked
for. Anything it cannot follow raises :class:`RawParseError` and the caller falls back
to pydicom.
"""

from __future__ import annotations

import logging
import struct
from functools import lru_cache
from typing import Final, Union

logger = logging.getLogger(__name__)

RawValue = Union[bytes, list["RawItem"]]  # noqa: UP007 (an alias needs Union on 3.9)
RawItem = dict[int, tuple[str, RawValue]]

ITEM: Final = 0xFFFEE000
ITEM_DELIMITATION: Final = 0xFFFEE00D
SEQUENCE_DELIMITATION: Final = 0xFFFEE0DD
UNDEFINED_LENGTH: Final = 0xFFFFFFFF
_LONG_VRS: Final = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)

_UNKNOWN_VR: Final = ("", False)
_KNOWN_VRS: Final = {
    vr.encode(): (vr, vr in _LONG_VRS)
    for vr in [
        "AE",
        "AS",
        "AT",
        "CS",
        "DA",
        "DS",
        "DT",
        "FD",
        "FL",
        "IS",
        "LO",
        "LT",
        "OB",
        "OD",
        "OF",
        "OL",
        "OV",
        "OW",
        "PN",
        "SH",
        "SL",
        "SQ",
        "SS",
        "ST",
        "SV",
        "TM",
        "UC",
        "UI",
        "UL",
        "UN",
        "UR",
        "US",
        "UT",
        "UV",
    ]
}


class RawParseError(ValueError):
    """The bytes do not follow the encoding this reader understands."""


@lru_cache(maxsize=4096)
def dictionary_vr(tag: int) -> str:
    """The VR the data dictionary gives ``tag`` (the first of ambiguous ones)."""
    from pydicom.datadict import dictionary_VR

    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return "UN"
    return vr.split(" or ")[0] if vr else "UN"


class RawReader:
    """Parse sequence values of one transfer syntax.

    Parameters
    ----------
    implicit_vr
        Implicit VR encoding (VRs come from the data dictionary).
    little_endian
        Byte order of the encoding.
    """

    def __init__(self, *, implicit_vr: bool, little_endian: bool) -> None:
        self.implicit_vr = implicit_vr
        self.little_endian = little_endian
        prefix = "<" if little_endian else ">"
        self._tag_length = struct.Struct(prefix + "HHL")
        self._short_length = struct.Struct(prefix + "H")
        self._long_length = struct.Struct(prefix + "L")
        self.truncated = False

    def sequence(
        self, data: bytes, start: int = 0, end: int | None = None
    ) -> list[RawItem]:
        """The items of a sequence value held in ``data[start:end]``."""
        items, _ = self._items(data, start, len(data) if end is None else end, False)
        return items

    def _items(
        self, data: bytes, pos: int, end: int, undefined: bool
    ) -> tuple[list[RawItem], int]:
        items: list[RawItem] = []
        unpack = self._tag_length.unpack_from
        while pos + 8 <= end:
            group, element, length = unpack(data, pos)
            tag = group << 16 | element
            pos += 8
            if tag == SEQUENCE_DELIMITATION:
                return items, pos
            if tag != ITEM:
                raise RawParseError(f"expected an item tag at offset {pos - 8}")
            if length == UNDEFINED_LENGTH:
                item, pos = self._dataset(data, pos, end, True)
            else:
                stop = pos + length
                if stop > end:
                    self.truncated = True
                    stop = end
                item, _ = self._dataset(data, pos, stop, False)
                pos = stop
            items.append(item)
        if pos < end or undefined:
            self.truncated = True
        return items, end

    def _dataset(
        self, data: bytes, pos: int, end: int, undefined: bool
    ) -> tuple[RawItem, int]:
        item: RawItem = {}
        unpack = self._tag_length.unpack_from
        unpack_long = self._long_length.unpack_from
        unpack_short = self._short_length.unpack_from
        implicit = self.implicit_vr
        known = _KNOWN_VRS
        while pos + 8 <= end:
            group, element, length = unpack(data, pos)
            tag = group << 16 | element
            if group == 0xFFFE:
                if tag == ITEM_DELIMITATION:
                    return item, pos + 8
                raise RawParseError(f"unexpected delimiter at offset {pos}")
            if implicit:
                vr = dictionary_vr(tag)
                pos += 8
            else:
                vr_bytes = data[pos + 4 : pos + 6]
                vr, is_long = known.get(vr_bytes, _UNKNOWN_VR)
                if is_long:
                    if pos + 12 > end:
                        self.truncated = True
                        return item, end
                    (length,) = unpack_long(data, pos + 8)
                    pos += 12
                elif vr:
                    (length,) = unpack_short(data, pos + 6)
                    pos += 8
                else:
                    raise RawParseError(f"invalid VR {vr_bytes!r} at offset {pos}")
            if length == UNDEFINED_LENGTH:
                if vr == "UN":
                    # an undefined-length UN value is a sequence in implicit VR LE
                    inner = RawReader(implicit_vr=True, little_endian=True)
                    value, pos = inner._items(data, pos, end, True)
                    self.truncated |= inner.truncated
                else:
                    value, pos = self._items(data, pos, end, True)
                item[tag] = ("SQ", value)
                continue
            stop = pos + length
            if stop > end:
                self.truncated = True
                stop = end
            if vr == "SQ" or (vr == "UN" and dictionary_vr(tag) == "SQ"):
                reader = self
                if vr == "UN":
                    reader = RawReader(implicit_vr=True, little_endian=True)
                value, _ = reader._items(data, pos, stop, False)
                self.truncated |= reader.truncated
                item[tag] = ("SQ", value)
            else:
                item[tag] = (vr, data[pos:stop])
            pos = stop
        if undefined or pos < end:
            self.truncated = True
        return item, end

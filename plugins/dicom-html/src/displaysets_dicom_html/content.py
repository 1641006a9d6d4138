"""The SR content tree as plain objects: content items, codes, values and references.

:func:`build_tree` reads a content tree through an
:class:`~displaysets_dicom_html.views.ItemView` and never raises for bad content: a
missing Value Type, a NUM without a measured value, an unknown value type or a value
that cannot be decoded becomes a problem noted on the item, and the item keeps whatever
could be read. By-reference items keep the target's position; :class:`ContentTree`
follows them without ever looping.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from displaysets_dicom_html import tags as t
from displaysets_dicom_html.codes import Code
from displaysets_dicom_html.views import ItemView

logger = logging.getLogger(__name__)

VALUE_TYPES: Final = frozenset(
    {
        "CONTAINER", "TEXT", "CODE", "NUM", "DATETIME", "DATE", "TIME", "UIDREF",
        "PNAME", "COMPOSITE", "IMAGE", "WAVEFORM", "SCOORD", "SCOORD3D", "TCOORD",
        "TABLE",
    }
)  # fmt: skip
"""The value types of the SR content item macros."""

_STRUCTURAL_TAGS: Final = frozenset(
    {
        t.RELATIONSHIP_TYPE, t.VALUE_TYPE, t.CONCEPT_NAME_CODE_SEQUENCE,
        t.CONTENT_SEQUENCE, t.OBSERVATION_DATE_TIME, t.OBSERVATION_UID,
        t.REFERENCED_CONTENT_ITEM_IDENTIFIER,
    }
)  # fmt: skip


@dataclass
class SOPReference:
    """One item of a Referenced SOP Sequence (IMAGE, COMPOSITE, WAVEFORM values)."""

    sop_class_uid: str
    sop_instance_uid: str
    frame_numbers: tuple[int, ...] = ()
    segment_numbers: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    presentation_state: SOPReference | None = None


@dataclass
class Measurement:
    """The value of a NUM content item."""

    numeric_value: str = ""
    floating_point_value: float | None = None
    unit: Code | None = None
    qualifier: Code | None = None
    rational: tuple[int, int] | None = None

    @property
    def value(self) -> float | None:
        if self.floating_point_value is not None:
            return self.floating_point_value
        try:
            return float(self.numeric_value) if self.numeric_value else None
        except ValueError:
            return None


@dataclass
class Coordinates:
    """The value of a SCOORD, SCOORD3D or TCOORD content item."""

    graphic_type: str = ""
    graphic_data: tuple[float, ...] = ()
    frame_of_reference_uid: str = ""
    fiducial_uid: str = ""
    temporal_range_type: str = ""
    sample_positions: tuple[int, ...] = ()
    time_offsets: tuple[float, ...] = ()
    date_times: tuple[str, ...] = ()


@dataclass
class Table:
    """The value of a TABLE content item: its size and row/column definitions."""

    rows: int = 0
    columns: int = 0
    row_headers: tuple[str, ...] = ()
    column_headers: tuple[str, ...] = ()


@dataclass(eq=False)
class ContentItem:
    """One content item of the tree; ``path`` numbers it as DCMTK does (``1.2.3``)."""

    path: str
    value_type: str
    relationship: str = ""
    concept: Code | None = None
    text: str = ""
    """TEXT, DATETIME, DATE, TIME, UIDREF and PNAME values as stored (decoded)."""
    code: Code | None = None
    measurement: Measurement | None = None
    references: list[SOPReference] = field(default_factory=list)
    coordinates: Coordinates | None = None
    table: Table | None = None
    continuity: str = ""
    template: str = ""
    observation_datetime: str = ""
    table_cell: tuple[int, int] | None = None
    by_reference: str = ""
    """The path of the target of a by-reference relationship, else empty."""
    other_attributes: list[tuple[str, str]] = field(default_factory=list)
    """Attributes of unknown value types, shown as keyword and value."""
    problems: list[str] = field(default_factory=list)
    children: list[ContentItem] = field(default_factory=list)

    @property
    def concept_meaning(self) -> str:
        return str(self.concept) if self.concept else ""

    def walk(self) -> Iterator[ContentItem]:
        """This item and all its descendants, depth first, without recursion."""
        stack = [self]
        while stack:
            item = stack.pop()
            yield item
            stack.extend(reversed(item.children))


_NAMED_TYPES: Final = frozenset(
    {"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME", "TABLE"}
)
"""Value types whose Concept Name is required (PS3.3 C.17.3.2.1)."""


def read_code(view: ItemView) -> Code:
    return view.code()


def first_code(view: ItemView, tag: int) -> Code | None:
    items = view.items(tag)
    return read_code(items[0]) if items else None


def _ints(view: ItemView, tag: int) -> tuple[int, ...]:
    return tuple(int(n) for n in view.numbers(tag))


def read_sop_reference(view: ItemView) -> SOPReference:
    nested = view.items(t.REFERENCED_SOP_SEQUENCE)
    return SOPReference(
        view.string(t.REFERENCED_SOP_CLASS_UID),
        view.string(t.REFERENCED_SOP_INSTANCE_UID),
        _ints(view, t.REFERENCED_FRAME_NUMBER),
        _ints(view, t.REFERENCED_SEGMENT_NUMBER),
        _ints(view, t.REFERENCED_WAVEFORM_CHANNELS),
        read_sop_reference(nested[0]) if nested else None,
    )


def _keyword(tag: int) -> str:
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _fill_value(item: ContentItem, view: ItemView) -> None:
    kind = item.value_type
    if kind == "TEXT":
        item.text = view.string(t.TEXT_VALUE)
        if not view.has(t.TEXT_VALUE):
            item.problems.append("TEXT item without Text Value")
    elif kind in ("DATETIME", "DATE", "TIME", "UIDREF", "PNAME"):
        tag = {
            "DATETIME": t.DATE_TIME,
            "DATE": t.DATE,
            "TIME": t.TIME,
            "UIDREF": t.UID,
            "PNAME": t.PERSON_NAME,
        }[kind]
        item.text = view.string(tag)
        if not view.has(tag):
            item.problems.append(f"{kind} item without its value")
    elif kind == "CODE":
        item.code = first_code(view, t.CONCEPT_CODE_SEQUENCE)
        if item.code is None:
            item.problems.append("CODE item without Concept Code Sequence")
    elif kind == "NUM":
        _fill_measurement(item, view)
    elif kind in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        item.references = [
            read_sop_reference(v) for v in view.items(t.REFERENCED_SOP_SEQUENCE)
        ]
        if not item.references:
            item.problems.append(f"{kind} item without Referenced SOP Sequence")
    elif kind in ("SCOORD", "SCOORD3D"):
        item.coordinates = Coordinates(
            graphic_type=view.string(t.GRAPHIC_TYPE),
            graphic_data=tuple(view.numbers(t.GRAPHIC_DATA)),
            frame_of_reference_uid=view.string(t.REFERENCED_FRAME_OF_REFERENCE_UID),
            fiducial_uid=view.string(t.FIDUCIAL_UID),
        )
        if not item.coordinates.graphic_data:
            item.problems.append(f"{kind} item without Graphic Data")
    elif kind == "TCOORD":
        item.coordinates = Coordinates(
            temporal_range_type=view.string(t.TEMPORAL_RANGE_TYPE),
            sample_positions=_ints(view, t.REFERENCED_SAMPLE_POSITIONS),
            time_offsets=tuple(view.numbers(t.REFERENCED_TIME_OFFSETS)),
            date_times=tuple(view.strings(t.REFERENCED_DATE_TIME)),
        )
    elif kind == "CONTAINER":
        item.continuity = view.string(t.CONTINUITY_OF_CONTENT)
        templates = view.items(t.CONTENT_TEMPLATE_SEQUENCE)
        if templates:
            item.template = templates[0].string(t.TEMPLATE_IDENTIFIER)
    elif kind == "TABLE":
        item.table = Table(
            rows=int(next(iter(view.numbers(t.NUMBER_OF_TABLE_ROWS)), 0)),
            columns=int(next(iter(view.numbers(t.NUMBER_OF_TABLE_COLUMNS)), 0)),
            row_headers=tuple(
                _definition_header(v)
                for v in view.items(t.TABLE_ROW_DEFINITION_SEQUENCE)
            ),
            column_headers=tuple(
                _definition_header(v)
                for v in view.items(t.TABLE_COLUMN_DEFINITION_SEQUENCE)
            ),
        )
    if kind not in VALUE_TYPES or kind == "TABLE":
        for tag in view.tags():
            if tag in _STRUCTURAL_TAGS or tag >> 16 == 0xFFFE:
                continue
            if kind == "TABLE" and tag in (
                t.NUMBER_OF_TABLE_ROWS, t.NUMBER_OF_TABLE_COLUMNS,
                t.TABLE_ROW_DEFINITION_SEQUENCE, t.TABLE_COLUMN_DEFINITION_SEQUENCE,
            ):  # fmt: skip
                continue
            nested = view.items(tag)
            if nested:
                shown = "; ".join(
                    str(read_code(v))
                    if v.has(t.CODE_MEANING)
                    else f"{len(v.tags())} attributes"
                    for v in nested
                )
            else:
                shown = view.string(tag)
            item.other_attributes.append((_keyword(tag), shown))


def _definition_header(view: ItemView) -> str:
    code = first_code(view, t.CONCEPT_NAME_CODE_SEQUENCE)
    return str(code) if code else ""


def _fill_measurement(item: ContentItem, view: ItemView) -> None:
    measured = view.items(t.MEASURED_VALUE_SEQUENCE)
    item.measurement = Measurement(
        qualifier=first_code(view, t.NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE)
    )
    if not measured:
        if item.measurement.qualifier is None:
            item.problems.append("NUM item without a measured value")
        return
    value = measured[0]
    floating = value.numbers(t.FLOATING_POINT_VALUE)
    numerator = value.numbers(t.RATIONAL_NUMERATOR_VALUE)
    denominator = value.numbers(t.RATIONAL_DENOMINATOR_VALUE)
    item.measurement.numeric_value = value.string(t.NUMERIC_VALUE)
    item.measurement.floating_point_value = floating[0] if floating else None
    item.measurement.unit = first_code(value, t.MEASUREMENT_UNITS_CODE_SEQUENCE)
    if numerator and denominator:
        item.measurement.rational = (int(numerator[0]), int(denominator[0]))
    if (
        not item.measurement.numeric_value
        and item.measurement.floating_point_value is None
    ):
        item.problems.append("NUM item without Numeric Value")
    if item.measurement.unit is None:
        item.problems.append("NUM item without Measurement Units Code Sequence")


def build_item(view: ItemView, path: str, is_root: bool = False) -> ContentItem:
    """Read one content item (not its children); problems are noted, never raised."""
    by_reference = (
        view.numbers(t.REFERENCED_CONTENT_ITEM_IDENTIFIER)
        if not is_root and view.has(t.REFERENCED_CONTENT_ITEM_IDENTIFIER)
        else []
    )
    item = ContentItem(path, view.string(t.VALUE_TYPE).upper())
    try:
        item.relationship = view.string(t.RELATIONSHIP_TYPE).upper()
        concepts = view.items(t.CONCEPT_NAME_CODE_SEQUENCE)
        item.concept = read_code(concepts[0]) if concepts else None
        if view.has(t.OBSERVATION_DATE_TIME):
            item.observation_datetime = view.string(t.OBSERVATION_DATE_TIME)
        if view.has(t.TABLE_ROW_NUMBER) and view.has(t.TABLE_COLUMN_NUMBER):
            rows = view.numbers(t.TABLE_ROW_NUMBER)
            columns = view.numbers(t.TABLE_COLUMN_NUMBER)
            if rows and columns:
                item.table_cell = (int(rows[0]), int(columns[0]))
        if by_reference:
            item.by_reference = ".".join(str(int(n)) for n in by_reference)
            return item
        if not item.value_type:
            item.problems.append("item without Value Type")
        elif item.value_type not in VALUE_TYPES:
            item.problems.append(f"unknown Value Type {item.value_type!r}")
        if not is_root and not item.relationship:
            item.problems.append("item without Relationship Type")
        if item.concept is None and (is_root or item.value_type in _NAMED_TYPES):
            item.problems.append(f"{item.value_type or 'item'} without Concept Name")
        _fill_value(item, view)
    except Exception as error:  # a value of the wrong VR or one that cannot decode
        logger.debug("content item %s: %s", path, error, exc_info=True)
        item.problems.append(f"cannot read the item's values: {error}")
    return item


def build_tree(root: ItemView, max_depth: int = 1000) -> ContentItem:
    """The whole content tree under a document's root (the dataset itself)."""
    top = build_item(root, "1", is_root=True)
    stack: list[tuple[ContentItem, ItemView, int]] = [(top, root, 0)]
    while stack:
        parent, view, depth = stack.pop()
        try:
            children = view.items(t.CONTENT_SEQUENCE)
        except Exception as error:
            parent.problems.append(f"cannot read Content Sequence: {error}")
            continue
        if children and depth >= max_depth:
            parent.problems.append(f"content tree deeper than {max_depth} levels; cut")
            continue
        for number, child_view in enumerate(children, 1):
            child = build_item(child_view, f"{parent.path}.{number}")
            parent.children.append(child)
            if not child.by_reference:
                stack.append((child, child_view, depth + 1))
    return top


@dataclass
class ContentTree:
    """A content tree with its items indexed by path."""

    root: ContentItem
    index: dict[str, ContentItem] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {item.path: item for item in self.root.walk()}

    def items(self) -> Iterator[ContentItem]:
        return self.root.walk()

    def __len__(self) -> int:
        return len(self.index)

    def resolve(self, item: ContentItem) -> tuple[ContentItem | None, str]:
        """Follow a by-reference item to a content item.

        Returns the target (or ``None``) and, when the reference is broken, why:
        ``dangling`` (no item at that path), ``cyclic`` (it points at itself or at an
        ancestor, or a chain of by-reference items returns to where it began).
        """
        seen = {item.path}
        current = item
        while current.by_reference:
            target = self.index.get(current.by_reference)
            if target is None:
                return None, "dangling"
            if target.path in seen or item.path.startswith(target.path + "."):
                return target, "cyclic"
            seen.add(target.path)
            current = target
        return current, ""

"""Render an SR document as one self-contained, safe HTML page.

The page holds a header (patient, study, series, document) and every content item of
the tree with its relationship, concept name and value, for every value type. All text
from the document is escaped, so markup in a report is shown as text and never run; the
page loads nothing from elsewhere and a Content-Security-Policy forbids scripts. Dates,
times and person names are shown readably, the stored value kept in a tooltip.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from typing import Any, Final

from displaysets_dicom_html import tags as t
from displaysets_dicom_html.content import Code, ContentItem, ContentTree, SOPReference
from displaysets_dicom_html.views import DatasetView

logger = logging.getLogger(__name__)

_STYLE: Final = """
body{font-family:system-ui,sans-serif;margin:1.5em;line-height:1.4;color:#111}
table.header{border-collapse:collapse;margin-bottom:1em}
table.header th{text-align:left;padding:2px 1em 2px 0;vertical-align:top}
ul.content{list-style:none;padding-left:1.2em;margin:0}
li.item{margin:.15em 0}
.rel{color:#666;font-size:.8em;font-variant:small-caps;margin-right:.4em}
.concept{font-weight:600}
.container>.concept{font-size:1.1em}
.text{white-space:pre-wrap}
.code{color:#555;font-size:.85em}
.problem{color:#a00;font-weight:600}
.broken{color:#a00;font-weight:600}
.messages{border:1px solid #a00;padding:.5em;margin-bottom:1em}
table.sr-table{border-collapse:collapse}
table.sr-table td,table.sr-table th{border:1px solid #999;padding:2px 6px}
"""
_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def format_date(value: str) -> str:
    """``YYYYMMDD`` as ``YYYY-MM-DD``; anything else unchanged."""
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def format_time(value: str) -> str:
    """``HHMMSS.FFFFFF`` as ``HH:MM:SS.FFFFFF``; anything else unchanged."""
    main, dot, fraction = value.partition(".")
    if not main.isdigit() or len(main) not in (2, 4, 6):
        return value
    text = ":".join(main[i : i + 2] for i in range(0, len(main), 2))
    return text + (dot + fraction if fraction else "")


def format_datetime(value: str) -> str:
    """A DT value as ``YYYY-MM-DD HH:MM:SS`` (offset kept)."""
    offset = ""
    for sign in "+-":
        if sign in value[8:]:
            position = value.index(sign, 8)
            value, offset = value[:position], " " + value[position:]
            break
    date, time = value[:8], value[8:]
    text = format_date(date) if len(date) == 8 else date
    if time:
        text += " " + format_time(time)
    return text + offset


def format_person_name(value: str) -> str:
    """A PN value as ``prefix given middle family, suffix`` per component group."""
    groups = []
    for group in value.split("="):
        parts = (group.split("^") + [""] * 5)[:5]
        family, given, middle, prefix, suffix = (p.strip() for p in parts)
        name = " ".join(p for p in (prefix, given, middle, family) if p)
        if suffix:
            name = f"{name}, {suffix}" if name else suffix
        groups.append(name)
    shown = groups[0] or next((g for g in groups if g), "")
    others = [g for g in groups[1:] if g and g != shown]
    return shown + (f" ({' = '.join(others)})" if others else "")


def _person(value: str) -> str:
    if not value:
        return ""
    shown = escape(format_person_name(value))
    return f'<span class="pname" title="{escape(value)}">{shown}</span>'


def _code(code: Code | None) -> str:
    if code is None:
        return ""
    designator = f"{code.value}, {code.scheme}"
    if code.scheme_version:
        designator += f" {code.scheme_version}"
    return (
        f"{escape(code.meaning or code.value)} "
        f'<span class="code">({escape(designator)})</span>'
    )


def _sop_class_name(uid: str) -> str:
    from pydicom.uid import UID

    name = UID(uid).name if uid else ""
    return name if name and name != uid else (uid or "unknown SOP class")


def _numbers(values: Iterable[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _reference(reference: SOPReference) -> str:
    parts = [
        f'<span class="sop-class">{escape(_sop_class_name(reference.sop_class_uid))}'
        "</span> "
        f'<span class="uid">{escape(reference.sop_instance_uid)}</span>'
    ]
    if reference.frame_numbers:
        parts.append(f"frames {escape(_numbers(reference.frame_numbers))}")
    if reference.segment_numbers:
        parts.append(f"segments {escape(_numbers(reference.segment_numbers))}")
    if reference.channels:
        parts.append(f"channels {escape(_numbers(reference.channels))}")
    if reference.presentation_state is not None:
        parts.append("presentation state " + _reference(reference.presentation_state))
    return "; ".join(parts)


def _points(data: tuple[float, ...], size: int) -> str:
    groups = [data[i : i + size] for i in range(0, len(data), size)]
    return " ".join("(" + ", ".join(f"{v:g}" for v in g) + ")" for g in groups)


def _value(item: ContentItem) -> str:
    kind = item.value_type
    if kind == "TEXT":
        return f'<span class="text">{escape(item.text)}</span>'
    if kind == "PNAME":
        return _person(item.text)
    if kind == "DATE":
        return (
            f'<span title="{escape(item.text)}">{escape(format_date(item.text))}</span>'
        )
    if kind == "TIME":
        return (
            f'<span title="{escape(item.text)}">{escape(format_time(item.text))}</span>'
        )
    if kind == "DATETIME":
        shown = escape(format_datetime(item.text))
        return f'<span title="{escape(item.text)}">{shown}</span>'
    if kind == "UIDREF":
        return f'<span class="uid">{escape(item.text)}</span>'
    if kind == "CODE":
        return _code(item.code)
    if kind == "NUM":
        return _measurement(item)
    if kind in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        return "<br>".join(_reference(r) for r in item.references)
    if kind in ("SCOORD", "SCOORD3D"):
        c = item.coordinates
        if c is None:
            return ""
        points = _points(c.graphic_data, 2 if kind == "SCOORD" else 3)
        text = f"{escape(c.graphic_type)} {escape(points)}"
        if c.frame_of_reference_uid:
            uid = escape(c.frame_of_reference_uid)
            text += f' <span class="code">(frame of reference {uid})</span>'
        return text
    if kind == "TCOORD":
        c = item.coordinates
        if c is None:
            return ""
        if c.sample_positions:
            values = "sample positions " + _numbers(c.sample_positions)
        elif c.time_offsets:
            values = "time offsets " + _numbers(c.time_offsets) + " s"
        else:
            values = "date/times " + ", ".join(format_datetime(d) for d in c.date_times)
        return f"{escape(c.temporal_range_type)} {escape(values)}"
    if kind == "CONTAINER":
        return ""
    if kind == "TABLE":
        return _table(item)
    return _other_attributes(item)


def _other_attributes(item: ContentItem) -> str:
    if not item.other_attributes:
        return ""
    rows = "".join(
        f"<li>{escape(keyword)} = {escape(value)}</li>"
        for keyword, value in item.other_attributes
    )
    return f'<ul class="attributes">{rows}</ul>'


def _measurement(item: ContentItem) -> str:
    value = item.measurement
    if value is None:
        return ""
    parts = []
    shown = value.numeric_value or (
        f"{value.floating_point_value!r}"
        if value.floating_point_value is not None
        else ""
    )
    if shown:
        unit = value.unit
        unit_text = ""
        if unit is not None:
            unit_text = (
                f' <span class="unit" title="{escape(unit.meaning)}">'
                f"{escape(unit.value or unit.meaning)}</span>"
            )
        parts.append(f'<span class="number">{escape(shown)}</span>{unit_text}')
    if value.floating_point_value is not None and value.numeric_value:
        parts.append(
            f'<span class="code">(floating point {value.floating_point_value!r})</span>'
        )
    if value.rational is not None:
        parts.append(
            f'<span class="code">({value.rational[0]}/{value.rational[1]})</span>'
        )
    if value.qualifier is not None:
        parts.append(_code(value.qualifier))
    return " ".join(parts)


def _table(item: ContentItem) -> str:
    table = item.table
    if table is None:
        return ""
    cells: dict[tuple[int, int], list[str]] = {}
    for child in item.children:
        if child.table_cell is not None:
            cells.setdefault(child.table_cell, []).append(_value(child))
    out = [
        f'<span class="code">({table.rows} x {table.columns})</span>'
        '<table class="sr-table">'
    ]
    if table.column_headers:
        out.append(
            "<tr><th></th>"
            + "".join(f"<th>{escape(h)}</th>" for h in table.column_headers)
            + "</tr>"
        )
    for row in range(1, table.rows + 1):
        header = (
            table.row_headers[row - 1] if row - 1 < len(table.row_headers) else str(row)
        )
        out.append(f"<tr><th>{escape(header)}</th>")
        for column in range(1, table.columns + 1):
            out.append(f"<td>{'<br>'.join(cells.get((row, column), []))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out) + _other_attributes(item)


def _item_open(item: ContentItem, tree: ContentTree) -> str:
    path = escape(item.path)
    kind = "by-reference" if item.by_reference else (item.value_type or "unknown")
    classes = f"item {escape(kind.lower())}"
    out = [f'<li class="{classes}" id="item-{path}">']
    if item.relationship:
        out.append(f'<span class="rel">{escape(item.relationship)}</span> ')
    if item.by_reference:
        target, broken = tree.resolve(item)
        target_path = escape(item.by_reference)
        if broken == "dangling":
            out.append(
                f'<span class="broken">by-reference to content item {target_path}, '
                "which does not exist (dangling reference)</span>"
            )
        elif broken == "cyclic":
            out.append(
                f'<span class="broken">by-reference to content item {target_path}, '
                "which leads back to itself (cyclic reference)</span>"
            )
        else:
            described = escape(target.concept_meaning) if target else ""
            anchor = escape(target.path if target else item.by_reference)
            label = f": {described}" if described else ""
            out.append(
                f'<a class="by-reference" href="#item-{anchor}">'
                f"see content item {target_path}{label}</a>"
            )
        return "".join(out)
    if item.concept is not None:
        title = escape(f"{item.concept.value}, {item.concept.scheme}")
        out.append(
            f'<span class="concept" title="{title}">'
            f"{escape(item.concept_meaning)}</span>"
        )
    value = _value(item)
    if value:
        out.append(
            f"{':' if item.concept is not None else ''} "
            f'<span class="value">{value}</span>'
        )
    if item.observation_datetime:
        out.append(
            ' <span class="code">(observed: '
            f"{escape(format_datetime(item.observation_datetime))})</span>"
        )
    if item.value_type not in (
        "CONTAINER",
        "TEXT",
        "CODE",
        "NUM",
        "DATETIME",
        "DATE",
        "TIME",
        "UIDREF",
        "PNAME",
        "COMPOSITE",
        "IMAGE",
        "WAVEFORM",
        "SCOORD",
        "SCOORD3D",
        "TCOORD",
        "TABLE",
    ):
        out.append(
            ' <span class="code">(value type '
            f"{escape(item.value_type or 'missing')})</span>"
        )
    for problem in item.problems:
        out.append(f' <span class="problem">[{escape(problem)}]</span>')
    return "".join(out)


def render_tree(tree: ContentTree) -> str:
    """The content items as nested lists, without recursion (deep trees are fine)."""
    out: list[str] = ['<ul class="content">']
    # entries: (item, None) opens an item; (None, closing markup) closes
    stack: list[tuple[ContentItem | None, str]] = [(tree.root, "")]
    while stack:
        item, closing = stack.pop()
        if item is None:
            out.append(closing)
            continue
        out.append(_item_open(item, tree))
        children = item.children if not item.by_reference else []
        if children and item.value_type != "TABLE":
            stack.append((None, "</ul></li>"))
            out.append('<ul class="content">')
            stack.extend((child, "") for child in reversed(children))
        elif children:
            stack.append((None, "</ul></li>"))
            out.append('<ul class="content">')
            stack.extend(
                (child, "") for child in reversed(children) if child.table_cell is None
            )
        else:
            out.append("</li>")
    out.append("</ul>")
    return "".join(out)


def _row(label: str, value_html: str) -> str:
    if not value_html:
        return ""
    return f"<tr><th>{escape(label)}</th><td>{value_html}</td></tr>"


def render_header(dataset: Any, title: str) -> str:
    view = DatasetView(dataset)
    rows = []
    patient = _person(view.string(t.PATIENT_NAME))
    details = ", ".join(
        f"{label} {escape(v)}"
        for label, v in (
            ("ID", view.string(t.PATIENT_ID)),
            ("born", format_date(view.string(t.PATIENT_BIRTH_DATE))),
            ("sex", view.string(t.PATIENT_SEX)),
        )
        if v
    )
    rows.append(
        _row(
            "Patient",
            " ".join(p for p in (patient, f"({details})" if details else "") if p),
        )
    )
    rows.append(
        _row("Referring Physician", _person(view.string(t.REFERRING_PHYSICIAN_NAME)))
    )
    study = escape(view.string(t.STUDY_DESCRIPTION))
    study_details = ", ".join(
        f"{label} {escape(v)}"
        for label, v in (
            ("date", format_date(view.string(t.STUDY_DATE))),
            ("accession", view.string(t.ACCESSION_NUMBER)),
            ("ID", view.string(t.STUDY_ID)),
        )
        if v
    )
    rows.append(
        _row(
            "Study",
            " ".join(
                p for p in (study, f"({study_details})" if study_details else "") if p
            ),
        )
    )
    series = escape(view.string(t.SERIES_DESCRIPTION))
    number = view.string(t.SERIES_NUMBER)
    rows.append(_row("Series", f"{series} (#{escape(number)})" if number else series))
    rows.append(_row("Document", escape(_sop_class_name(view.string(t.SOP_CLASS_UID)))))
    rows.append(_row("Title", escape(title)))
    manufacturer = view.string(t.MANUFACTURER)
    rows.append(_row("Manufacturer", escape(manufacturer)))
    completion = view.string(t.COMPLETION_FLAG)
    description = view.string(t.COMPLETION_FLAG_DESCRIPTION)
    rows.append(_row("Completion Flag", escape(completion)))
    rows.append(_row("Completion Flag Description", escape(description)))
    rows.append(_row("Verification Flag", escape(view.string(t.VERIFICATION_FLAG))))
    verifiers = []
    for verifier in view.items(t.VERIFYING_OBSERVER_SEQUENCE):
        when = format_datetime(verifier.string(t.VERIFICATION_DATE_TIME))
        name = _person(verifier.string(t.VERIFYING_OBSERVER_NAME))
        organization = escape(verifier.string(t.VERIFYING_ORGANIZATION))
        verifiers.append(f"{escape(when)} - {name}, {organization}")
    rows.append(_row("Verifying Observers", "<br>".join(verifiers)))
    rows.append(_row("Preliminary Flag", escape(view.string(t.PRELIMINARY_FLAG))))
    date = format_date(view.string(t.CONTENT_DATE))
    time = format_time(view.string(t.CONTENT_TIME))
    rows.append(_row("Content Date/Time", escape(f"{date} {time}".strip())))
    predecessors = [
        _reference(
            SOPReference(
                sop.string(t.REFERENCED_SOP_CLASS_UID),
                sop.string(t.REFERENCED_SOP_INSTANCE_UID),
            )
        )
        for study_item in view.items(t.PREDECESSOR_DOCUMENTS_SEQUENCE)
        for series_item in study_item.items(t.REFERENCED_SERIES_SEQUENCE)
        for sop in series_item.items(t.REFERENCED_SOP_SEQUENCE)
    ]
    rows.append(_row("Predecessor Documents", "<br>".join(predecessors)))
    templates = view.items(t.CONTENT_TEMPLATE_SEQUENCE)
    if templates:
        template = templates[0]
        rows.append(
            _row(
                "Template",
                escape(
                    f"TID {template.string(t.TEMPLATE_IDENTIFIER)} "
                    f"({template.string(t.MAPPING_RESOURCE)})"
                ),
            )
        )
    for tag, label in (
        (t.CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE, "Evidence"),
        (t.PERTINENT_OTHER_EVIDENCE_SEQUENCE, "Other Evidence"),
    ):
        entries = [
            _reference(
                SOPReference(
                    sop.string(t.REFERENCED_SOP_CLASS_UID),
                    sop.string(t.REFERENCED_SOP_INSTANCE_UID),
                )
            )
            for study_item in view.items(tag)
            for series_item in study_item.items(t.REFERENCED_SERIES_SEQUENCE)
            for sop in series_item.items(t.REFERENCED_SOP_SEQUENCE)
        ]
        rows.append(_row(label, "<br>".join(entries)))
    return '<table class="header">' + "".join(rows) + "</table>"


def render_document(
    dataset: Any, tree: ContentTree, messages: Iterable[str] = ()
) -> str:
    """The complete HTML page of one SR document."""
    title = tree.root.concept_meaning or _sop_class_name(
        DatasetView(dataset).string(t.SOP_CLASS_UID)
    )
    notes = "".join(f"<li>{escape(m)}</li>" for m in messages)
    parts = [
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n',
        '<meta name="generator" content="displaysets-dicom-html">\n',
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n",
        render_header(dataset, title),
        f'<div class="messages"><ul>{notes}</ul></div>' if notes else "",
        "<hr>\n",
        render_tree(tree),
        "\n</body>\n</html>\n",
    ]
    return "".join(parts)

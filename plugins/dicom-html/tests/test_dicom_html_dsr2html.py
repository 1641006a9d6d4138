"""Our HTML against DCMTK's ``dsr2html``: every text dsr2html shows must appear in ours.

Both renderings of every SR file of the corpus are reduced to their visible text. Each
text fragment of dsr2html's page (split at ``Name = value``) must occur in our page's
visible text, except fragments covered by :data:`DELIBERATE_DIFFERENCES`, each with the
reason we render differently.
"""

from __future__ import annotations

import html.parser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from displaysets import PluginHost, scan
from displaysets.testing import corpus_dir
from displaysets_dicom_html import plugin
from displaysets_dicom_html.report import StructuredReport

DSR2HTML = shutil.which("dsr2html")
DSR2HTML_OPTIONS = ("-q", "-Ee", "-Er", "-Ev", "-Ec", "+U8")
"""Accept what DCMTK would otherwise refuse to render, and write UTF-8."""

DELIBERATE_DIFFERENCES: tuple[tuple[str, str], ...] = (
    (
        r"(Concept Modifier|Observation Context|Acquisition Context|Inferred from"
        r"|Selected from|Properties|Contains|Has Properties|Has Concept Modifier"
        r"|Content Item|by-reference)",
        "dsr2html words relationships in prose; we show the DICOM relationship type "
        "(HAS CONCEPT MOD, HAS OBS CONTEXT, INFERRED FROM, ...)",
    ),
    (
        r"(Annex|Footnote)( \d+)?",
        "dsr2html moves some items into annexes and footnotes; we show every item in "
        "place in the tree",
    ),
    (
        r"[A-Za-z]+ image( with presentation state)?|[A-Za-z0-9]+Storage"
        r"|[A-Za-z ]+ (object|document|waveform)",
        "dsr2html abbreviates referenced SOP classes ('CT image'); we show the SOP "
        "class name ('CT Image Storage') with the SOP Instance UID",
    ),
    (
        r"Predecessor Docs",
        "we spell the header label out: Predecessor Documents",
    ),
    (
        r"empty",
        "dsr2html writes 'empty' for an item without a value; we flag the item's "
        "problem in words",
    ),
    (
        r"male|female|other|unknown sex",
        "dsr2html words the patient's sex; we show the DICOM code (M, F, O)",
    ),
    (
        r"Spatial Coordinates|Image|Point|Polyline|Circle|Ellipse|Multipoint"
        r"|Temporal Coordinates|Composite Object|Waveform|Segment|Multisegment|Begin"
        r"|End",
        "dsr2html names an unnamed item by its value type or graphic type in words; "
        "we show the DICOM value type and graphic type terms (POINT, POLYLINE, ...)",
    ),
    (
        r"This page was generated from a DICOM Structured Reporting document by"
        r"|OFFIS DCMTK|\d+\.\d+\.\d+\.",
        "dsr2html's footer",
    ),
)
_DELIBERATE = [re.compile(rf"^(?:{pattern})$") for pattern, _ in DELIBERATE_DIFFERENCES]


_BLOCKS = frozenset(
    [
        "address",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)


class _VisibleText(html.parser.HTMLParser):
    """Collects the text a browser shows (not titles, styles or scripts), one
    fragment per block (inline markup joins its text) or per text node."""

    def __init__(self, by_node: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.by_node = by_node
        self.fragments: list[str] = []
        self._current: list[str] = []
        self._hidden = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.fragments.append(text)
        self._current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title", "script", "head"):
            self._hidden += 1
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "script", "head"):
            self._hidden -= 1
        elif tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._current.append(data)
            if self.by_node:
                self._flush()

    def close(self) -> None:
        super().close()
        self._flush()


def visible_fragments(page: str, *, by_node: bool = False) -> list[str]:
    """The visible text of ``page``: one fragment per block, or per text node."""
    parser = _VisibleText(by_node)
    parser.feed(page)
    parser.close()
    return parser.fragments


_HEADER_DETAIL = re.compile(r"(male|female|other|unknown sex|[*#].*)")


def comparable_parts(fragment: str) -> list[str]:
    """Split one dsr2html fragment into the texts that must appear in our page."""
    text = fragment.removeprefix(": ").strip()
    name, separator, value = text.partition(" = ")
    parts = [name, value] if separator else [text]
    result = []
    for part in parts:
        # header details in parentheses: "Name (male, *1922-09-09, #ID)"
        details = re.fullmatch(r"(.*?) ?\(([^()]*)\)", part)
        pieces = [part]
        if details and any(
            _HEADER_DETAIL.fullmatch(d) for d in details.group(2).split(", ")
        ):
            pieces = [details.group(1), *details.group(2).split(", ")]
        for piece in pieces:
            piece = piece.strip().strip("[]").strip().rstrip(":=").strip()
            piece = piece.lstrip("*#").strip()
            if len(piece) >= 2 and piece[0] == piece[-1] == '"':
                piece = piece[1:-1]
            if piece:
                result.append(piece)
    return result


def sr_files() -> list[Path]:
    """Every SR file of the corpus (none when the corpus is absent: then skipped)."""
    files = []
    for folder in (("sr",), ("toolmade", "sr")):
        files += sorted(corpus_dir().joinpath(*folder).glob("*.dcm"))
    return files


def _ids(path: Path) -> str:
    return path.name


def render_ours(path: Path) -> str:
    host = PluginHost(autoload=False)
    host.register(plugin, "dicom-html", distribution="displaysets-dicom-html")
    service = scan([path], host=host)
    (display_set,) = [d for d in service.display_sets if d.plugin == "html"]
    return StructuredReport(display_set).html


def render_dsr2html(path: Path) -> str:
    assert DSR2HTML is not None
    completed = subprocess.run(
        [DSR2HTML, *DSR2HTML_OPTIONS, str(path)], capture_output=True, check=False
    )
    assert completed.stdout, f"dsr2html rendered nothing for {path}"
    return completed.stdout.decode("utf-8")


def run_together(part: str, our_text: str, our_fragments: set[str]) -> bool:
    """Whether ``part`` is several of our texts in a row (dsr2html joins the items of
    a continuous container into one paragraph; we show each item on its own).

    Each piece must be at least two words long or one of our text fragments whole, so
    that single common words never add up to a match.
    """
    words = part.split(" ")
    start = 0
    while start < len(words):
        for stop in range(len(words), start, -1):
            piece = " ".join(words[start:stop])
            if (stop - start >= 2 and piece in our_text) or piece in our_fragments:
                start = stop
                break
        else:
            return False
    return True


def missing_from_ours(theirs: str, ours: str) -> list[str]:
    our_fragments = set(visible_fragments(ours))
    our_text = " ".join(visible_fragments(ours))
    missing = []
    checked: set[str] = set()
    for fragment in visible_fragments(theirs, by_node=True):
        for part in comparable_parts(fragment):
            if part in checked:
                continue
            checked.add(part)
            if (
                part in our_fragments
                or part in our_text
                or any(rule.match(part) for rule in _DELIBERATE)
            ):
                continue
            if run_together(part, our_text, our_fragments):
                continue
            missing.append(part)
    return list(dict.fromkeys(missing))


@pytest.mark.corpus
@pytest.mark.skipif(DSR2HTML is None, reason="DCMTK dsr2html is not installed")
@pytest.mark.parametrize("path", sr_files() if DSR2HTML else [], ids=_ids)
def test_every_text_dsr2html_shows_is_in_our_html(path: Path) -> None:
    assert missing_from_ours(render_dsr2html(path), render_ours(path)) == []


def test_comparable_parts_split_header_details_and_values() -> None:
    assert comparable_parts("Phillip B. Osterman (male, *1922-09-09)") == [
        "Phillip B. Osterman",
        "male",
        "1922-09-09",
    ]
    assert comparable_parts(': Tracking Identifier = "primary tumor"') == [
        "Tracking Identifier",
        "primary tumor",
    ]


def test_a_value_missing_from_ours_is_reported() -> None:
    theirs = "<html><body><div>Diameter: <span>3 cm</span></div></body></html>"
    ours = "<html><body><p>Diameter: 4 cm</p></body></html>"
    assert missing_from_ours(theirs, ours) == ["3 cm"]


def test_texts_run_together_by_dsr2html_are_found_item_by_item() -> None:
    theirs = "<p>A mass of 3 cm was detected.</p>"
    ours = "<li>Text: A mass of</li><li>Diameter: 3 cm</li><li>Text: was detected.</li>"
    assert missing_from_ours(theirs, ours) == []
    assert missing_from_ours(theirs, ours.replace("3 cm", "4 cm")) == [
        "A mass of 3 cm was detected."
    ]

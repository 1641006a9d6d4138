"""One SR document read from an instance: its header and its content tree.

The content tree comes from the instance's metadata. For a local file whose Content
Sequence pydicom has not converted yet, the encoded bytes are parsed by
:mod:`displaysets_dicom_html.rawparse` (much faster than converting every element);
otherwise, or when those bytes cannot be followed, pydicom's own objects are read.
Trees are cached per instance so building display sets and loading content parse once.
"""

from __future__ import annotations

import gc
import logging
import os
import struct
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from displaysets_dicom_html import tags as t
from displaysets_dicom_html.content import ContentItem, ContentTree, build_tree
from displaysets_dicom_html.rawparse import RawParseError, RawReader
from displaysets_dicom_html.views import CharacterSet, DatasetView, ItemView, RawView

if TYPE_CHECKING:
    from displaysets.model import Instance

logger = logging.getLogger(__name__)

CACHE_SIZE: Final = 8
"""How many parsed content trees are kept for reuse between building and loading."""
_DEFLATED: Final = "1.2.840.10008.1.2.1.99"


class _RootView(DatasetView):
    """The dataset as the root content item, its Content Sequence pre-parsed."""

    __slots__ = ("_children",)

    def __init__(self, dataset: Any, children: list[RawView]) -> None:
        super().__init__(dataset)
        self._children = children

    def items(self, tag: int) -> list[Any]:
        if tag == t.CONTENT_SEQUENCE:
            return self._children
        return super().items(tag)


@dataclass
class ParsedContent:
    """A content tree and what went wrong reading it."""

    tree: ContentTree
    problems: list[str] = field(default_factory=list)
    reader: str = "pydicom"
    """``raw`` when the fast reader parsed the Content Sequence, else ``pydicom``."""


def _raw_children(dataset: Any, location: str) -> tuple[list[RawView], bool] | None:
    """Parse the unconverted Content Sequence; ``None`` when that is not possible."""
    from pydicom.dataelem import RawDataElement

    element = dataset._dict.get(t.CONTENT_SEQUENCE)
    if not isinstance(element, RawDataElement):
        return None
    meta = getattr(dataset, "file_meta", None)
    data = element.value
    truncated = False
    if data is None:
        # deferred by the reader: read the value from the file
        if meta is not None and meta.get("TransferSyntaxUID") == _DEFLATED:
            return None
        if element.length == 0xFFFFFFFF or element.value_tell is None:
            return None
        if not os.path.isfile(location):
            return None
        with open(location, "rb") as handle:
            handle.seek(element.value_tell)
            data = handle.read(element.length)
        truncated = len(data) < element.length
    reader = RawReader(
        implicit_vr=bool(element.is_implicit_VR),
        little_endian=bool(element.is_little_endian),
    )
    items = reader.sequence(bytes(data))
    charset = CharacterSet(dataset.get("SpecificCharacterSet"))
    little = bool(element.is_little_endian)
    return [
        RawView(item, charset, little) for item in items
    ], truncated or reader.truncated


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large tree of objects is built.

    Building tens of thousands of items otherwise triggers many collections that find
    nothing to free (the tree holds no cycles), a quarter of the time spent.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_content(dataset: Any, location: str) -> ParsedContent:
    """Read the content tree of ``dataset`` (the document's root is the dataset)."""
    with gc_paused():
        return _parse_content(dataset, location)


def _parse_content(dataset: Any, location: str) -> ParsedContent:
    problems: list[str] = []
    root: ItemView | None = None
    reader = "pydicom"
    try:
        raw = _raw_children(dataset, location)
    except (
        RawParseError,
        ValueError,
        OSError,
        IndexError,
        RecursionError,
        struct.error,
    ) as error:
        logger.info("%s: fast reader gave up (%s); using pydicom", location, error)
        raw = None
    if raw is not None:
        children, truncated = raw
        root = _RootView(dataset, children)
        reader = "raw"
        if truncated:
            problems.append("the Content Sequence ends early (is the file truncated?)")
    if root is None:
        root = DatasetView(dataset)
    try:
        tree = ContentTree(build_tree(root))
    except Exception as error:  # pydicom failing deep inside a broken sequence
        logger.warning("%s: cannot read the content tree: %s", location, error)
        problems.append(f"cannot read the content tree: {error}")
        tree = ContentTree(ContentItem("1", "CONTAINER", problems=[str(error)]))
    if t.CONTENT_SEQUENCE not in dataset:
        problems.append("the document has no Content Sequence")
    elif not tree.root.children:
        problems.append("the document's Content Sequence is empty")
    return ParsedContent(tree, problems, reader)


_cache: OrderedDict[int, tuple[weakref.ref[Any], ParsedContent]] = OrderedDict()
_lock = threading.Lock()


def content_of(instance: Instance) -> ParsedContent:
    """The parsed content tree of ``instance``, from the cache when it is there."""
    key = id(instance)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is instance:
            _cache.move_to_end(key)
            return hit[1]
    parsed = parse_content(instance.dataset, instance.location)
    with _lock:
        _cache[key] = (weakref.ref(instance), parsed)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return parsed

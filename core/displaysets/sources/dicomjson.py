"""DICOM JSON (PS3.18 F, application/dicom+json) as a data source.

A file may hold one dataset object, an array of them (as QIDO-RS and WADO-RS metadata
return them) or any wrapper around them: every object whose keys are all eight-digit
tags is taken as a dataset. Conversion is tolerant per attribute: near-valid input (a
scalar where an array belongs, a missing ``vr``, an empty DS or IS string) is repaired
or loses only the bad attribute, and each repair or loss is recorded.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from pydicom import datadict
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence

from displaysets.errors import ContentError
from displaysets.model import PIXEL_DATA_KEYWORDS, Instance
from displaysets.records import Severity
from displaysets.sources.base import DataSource, Problem, ScanProgress
from displaysets.sources.reading import BULK_KEYWORDS, MEDIA_STORAGE_DIRECTORY
from displaysets.uids import deterministic_uid

logger = logging.getLogger(__name__)

MAX_SEQUENCE_DEPTH: Final = 64
"""Deeper sequence nesting than any IOD uses is cut, with a note, not recursed into."""
_TAG_KEY: Final = re.compile(r"^[0-9A-Fa-f]{8}$")
_VALUE_KEYS: Final = ("Value", "InlineBinary", "BulkDataURI")
_NUMBER_STRING_VRS: Final = ("DS", "IS")
_BULK_TAGS: Final[dict[int, str]] = {
    int(datadict.tag_for_keyword(k) or 0): k for k in BULK_KEYWORDS
}


def is_dataset_object(value: object) -> bool:
    """True for a dict most of whose keys are DICOM JSON tags (a dataset object; the
    keys that are not tags are dropped, with a note, when it is converted)."""
    if not isinstance(value, dict) or not value:
        return False
    tags = sum(1 for k in value if isinstance(k, str) and _TAG_KEY.match(k))
    return tags > 0 and tags * 2 > len(value)


def find_dataset_objects(document: object) -> list[dict[str, Any]]:
    """Every DICOM JSON dataset object in ``document``, depth first, in order."""
    found: list[dict[str, Any]] = []
    stack: list[object] = [document]
    while stack:
        node = stack.pop()
        if is_dataset_object(node):
            found.append(node)  # type: ignore[arg-type]
        elif isinstance(node, dict):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found


class JsonConverter:
    """Converts DICOM JSON objects to pydicom datasets, recording every repair."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.bulk_data_uris: dict[str, str] = {}

    def _note(self, where: str, text: str) -> None:
        self.notes.append(f"{where}: {text}")

    def dataset(self, obj: dict[str, Any], path: str = "", depth: int = 0) -> Dataset:
        dataset = Dataset()
        if depth > MAX_SEQUENCE_DEPTH:
            self._note(path, f"sequences nested deeper than {MAX_SEQUENCE_DEPTH}; cut")
            return dataset
        for key, attribute in obj.items():
            where = (
                f"{path}({key[:4]},{key[4:]})".upper() if _TAG_KEY.match(key) else key
            )
            element = self.element(key, attribute, where, depth)
            if element is not None:
                dataset.add(element)
        return dataset

    def element(
        self, key: str, attribute: object, where: str, depth: int = 0
    ) -> DataElement | None:
        if not _TAG_KEY.match(key):
            self._note(where, "not a DICOM JSON tag key; attribute dropped")
            return None
        tag = int(key, 16)
        if not isinstance(attribute, dict):
            self._note(where, "attribute is not an object; read as its value")
            attribute = {"Value": attribute}
        vr = attribute.get("vr")
        if not isinstance(vr, str) or len(vr) != 2:
            try:
                vr = datadict.dictionary_VR(tag)
            except KeyError:
                self._note(where, "no vr and not in the data dictionary; dropped")
                return None
            if " or " in vr:
                vr = vr.split(" or ")[0]
            self._note(where, f"missing vr; used {vr} from the data dictionary")
        value_keys = [k for k in _VALUE_KEYS if k in attribute]
        if not value_keys:
            return DataElement(tag, vr, None if vr != "SQ" else DicomSequence())
        value_key = value_keys[0]
        value = attribute[value_key]

        if value_key == "BulkDataURI":
            self.bulk_data_uris[where] = str(value)
            if tag in _BULK_TAGS and "[" not in where:
                return None  # top-level bulk content: kept out of the metadata
            return DataElement(tag, vr, None)
        if value_key == "Value":
            if not isinstance(value, list):
                self._note(where, "Value is not an array; wrapped in one")
                value = [value]
            if vr == "SQ":
                items = []
                for number, item in enumerate(value, 1):
                    if isinstance(item, dict):
                        items.append(
                            self.dataset(item, f"{where}[{number}]", depth + 1)
                        )
                    else:
                        self._note(
                            f"{where}[{number}]", "item is not an object; dropped"
                        )
                return DataElement(tag, vr, DicomSequence(items))
            if vr in _NUMBER_STRING_VRS:
                kept = [v for v in value if v not in ("", None)]
                if len(kept) != len(value):
                    self._note(where, f"empty {vr} value dropped")
                value = kept
            if vr == "PN":
                value = [
                    {"Alphabetic": v} if isinstance(v, str) else v
                    for v in value
                    if isinstance(v, (str, dict))
                ]
        try:
            return DataElement.from_json(Dataset, key, vr, value, value_key)
        except Exception as error:
            self._note(where, f"invalid {vr} value ({error}); attribute dropped")
            return None


@contextmanager
def without_value_validation() -> Iterator[None]:
    """Convert without pydicom's per-value checks, as pydicom reads files: values
    are kept as they are either way, but the checks and their warnings cost most of
    the conversion time of large metadata."""
    from pydicom import config

    previous = config.settings.reading_validation_mode
    config.settings.reading_validation_mode = config.IGNORE
    try:
        yield
    finally:
        config.settings.reading_validation_mode = previous


IMAGE_PIXEL_KEYWORDS: Final = ("Rows", "Columns", "BitsAllocated")
"""Image Pixel module attributes that come with pixel data in every image IOD."""


def pixel_data_left_out(dataset: Dataset, bulk: dict[str, int | None]) -> bool:
    """True when metadata describes pixels it does not carry.

    The Image Pixel module comes whole: Rows, Columns and Bits Allocated without any
    pixel data attribute means the server left the pixels out of the metadata, as
    QIDO-RS and WADO-RS metadata do (and some servers do with encapsulated pixels).
    """
    return not any(k in bulk for k in PIXEL_DATA_KEYWORDS) and all(
        k in dataset for k in IMAGE_PIXEL_KEYWORDS
    )


def convert_object(obj: dict[str, Any]) -> tuple[Dataset, JsonConverter]:
    """Convert one dataset object; File Meta elements (group 0002) go to file_meta."""
    converter = JsonConverter()
    with without_value_validation():
        dataset = converter.dataset(obj)
    meta_tags = [
        tag
        for tag in dataset.keys()  # noqa: SIM118 (iterating yields elements)
        if tag.group == 0x0002
    ]
    if meta_tags:
        meta = FileMetaDataset()
        for tag in meta_tags:
            meta.add(dataset[tag])
            del dataset[tag]
        dataset.file_meta = meta
    return dataset, converter


class DicomJsonSource(DataSource):
    """The instances of one DICOM JSON file. It holds metadata only: content that
    came as BulkDataURI cannot be loaded from it; InlineBinary content can."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.objects_skipped = 0

    @property
    def description(self) -> str:
        return self.path

    def input_paths(self) -> list[str]:
        return [self.path]

    def iter_instances(
        self,
        report: Callable[[Problem], None],
        progress: ScanProgress | None = None,
        *,
        quiet_if_not_json: bool = False,
    ) -> Iterator[Instance]:
        self.files_seen += 1
        try:
            with open(self.path, encoding="utf-8") as handle:
                document = json.load(handle)
        except RecursionError:
            report(
                Problem(
                    self.path,
                    "UNREADABLE",
                    Severity.ERROR,
                    "JSON nested too deeply to be DICOM JSON",
                )
            )
            return
        except (ValueError, UnicodeDecodeError) as error:
            if quiet_if_not_json and not self.path.lower().endswith(".json"):
                self.non_dicom_skipped += 1
                return
            report(
                Problem(
                    self.path, "UNREADABLE", Severity.ERROR, f"not valid JSON: {error}"
                )
            )
            return
        except OSError as error:
            report(Problem(self.path, "UNREADABLE", Severity.ERROR, str(error)))
            return
        try:
            objects = find_dataset_objects(document)
        except RecursionError:
            objects = []
        if not objects:
            self.non_dicom_skipped += 1
            logger.info(
                "%s: JSON without DICOM JSON dataset objects, skipped", self.path
            )
            return
        for number, obj in enumerate(objects, 1):
            location = f"{self.path}#{number}"
            instance = self.instance_from_object(obj, location, report)
            if instance is not None:
                yield instance
        if progress is not None:
            progress(1, 1)

    def instance_from_object(
        self,
        obj: dict[str, Any],
        location: str,
        report: Callable[[Problem], None],
    ) -> Instance | None:
        """Make an instance of one object, or ``None`` for a query result above the
        instance level (a QIDO-RS study or series answer)."""
        dataset, converter = convert_object(obj)
        if not dataset.get("SOPInstanceUID") and not dataset.get("SOPClassUID"):
            self.objects_skipped += 1
            logger.info("%s: study or series level record, not an instance", location)
            return None
        if dataset.get("SOPClassUID") == MEDIA_STORAGE_DIRECTORY:
            self.objects_skipped += 1
            return None
        bulk: dict[str, int | None] = {}
        for tag, keyword in _BULK_TAGS.items():
            key = f"{tag:08X}"
            if key in obj:
                bulk[keyword] = None
                if tag in dataset:
                    del dataset[tag]
        if pixel_data_left_out(dataset, bulk):
            bulk["PixelData"] = None
        instance = Instance(
            dataset=dataset,
            location=location,
            source=self,
            bulk_data=bulk,
            source_key=obj,
        )
        for keyword, code in (
            ("SOPInstanceUID", "MISSING_SOP_INSTANCE_UID"),
            ("StudyInstanceUID", "MISSING_STUDY_INSTANCE_UID"),
            ("SeriesInstanceUID", "MISSING_SERIES_INSTANCE_UID"),
        ):
            if not dataset.get(keyword):
                text = json.dumps(obj, sort_keys=True)
                setattr(dataset, keyword, deterministic_uid([keyword, text]))
                instance.add_message(
                    code,
                    Severity.WARNING,
                    f"{location}: no {keyword}; a derived UID stands in for it",
                )
        for note in converter.notes:
            report(Problem(location, "INVALID_ATTRIBUTE", Severity.WARNING, note))
            instance.add_message(
                "INVALID_ATTRIBUTE", Severity.WARNING, f"{location}: {note}"
            )
        instance.bulk_data_uris = converter.bulk_data_uris
        return instance

    def open_dataset(self, instance: Instance) -> Dataset:
        obj = instance.source_key
        if not isinstance(obj, dict):
            raise ContentError(f"{instance.location}: no DICOM JSON object to read")
        dataset, _ = convert_object(obj)
        for tag, keyword in _BULK_TAGS.items():
            if keyword in instance.bulk_data and tag not in dataset:
                raise ContentError(
                    f"{instance.location}: {keyword} is only referenced by a "
                    "BulkDataURI; DICOM JSON files hold metadata only"
                )
        return dataset

    def fingerprint(self, instance: Instance) -> str:
        import hashlib

        text = json.dumps(instance.source_key, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

"""Instances, series and studies as handlers receive them, whatever the source.

An :class:`Instance` holds the metadata of one SOP instance as a pydicom ``Dataset``
with bulk values (pixel data, encapsulated documents) left out; its ``source`` knows how
to fetch the full object when a handler's loader asks for it.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from displaysets.records import Message, Severity

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from displaysets.sources.base import DataSource

logger = logging.getLogger(__name__)


def _empty_dataset() -> Dataset:
    from pydicom.dataset import (
        Dataset,
    )  # here, so that plugin discovery needs no pydicom

    return Dataset()


PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
"""The three attributes of the Image Pixel module that hold pixel values."""


@functools.lru_cache(maxsize=1024)
def _tag_of(keyword: str) -> int | None:
    from pydicom.datadict import tag_for_keyword

    return tag_for_keyword(keyword)


def value_of(dataset: Dataset | None, keyword: str) -> Any:
    """The value of ``keyword`` in ``dataset``, or ``None`` when it is absent or its
    stored bytes cannot be decoded.

    pydicom decodes values when they are first read, and a damaged element (an
    unknown VR, bytes that are not the VR's form, a sequence cut short) raises then;
    handlers and the core read metadata through this, so one bad element costs only
    its own value. The lookup goes by tag, which is faster than by keyword.
    """
    if dataset is None:
        return None
    tag = _tag_of(keyword)
    try:
        if tag is None:
            return dataset.get(keyword)
        if tag not in dataset:
            return None
        return dataset[tag].value
    except Exception as error:  # pydicom raises many kinds for damaged values
        logger.debug("cannot decode %s: %s", keyword, error)
        return None


def finite_numbers(value: Any, count: int) -> tuple[float, ...] | None:
    """``count`` finite numbers from a multi-valued attribute value, else ``None``."""
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        return None
    return numbers


def text_of(dataset: Dataset | None, keyword: str) -> str:
    """An attribute as stripped text (multiple values joined by ``\\``), ``""`` when
    absent, empty or undecodable."""
    value = value_of(dataset, keyword)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _integer(dataset: Dataset, keyword: str) -> int | None:
    value = value_of(dataset, keyword)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass(eq=False)
class Instance:
    """One SOP instance: its metadata and where it came from.

    Parameters
    ----------
    dataset
        The metadata, without pixel data or encapsulated document bytes.
    location
        A file path or URL, used in messages and to fetch the content.
    source
        The data source that read the instance and can fetch its content.
    bulk_data
        Keyword -> byte length (or ``None`` when unknown) of the bulk values that
        were left out of ``dataset``, so handlers know they exist without reading them.
    messages
        What went wrong reading it; copied onto the display set that covers it.
    source_key
        Whatever the source needs to fetch the instance again (a JSON object, a URL).
    bulk_data_uris
        Attribute path -> BulkDataURI, for metadata read from DICOM JSON.

    The identifying attributes are read once and cached: a source completes the
    dataset (UIDs from File Meta, derived stand-ins) before it makes the instance.
    """

    dataset: Dataset
    location: str
    source: DataSource
    bulk_data: dict[str, int | None] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    source_key: Any = None
    bulk_data_uris: dict[str, str] = field(default_factory=dict)

    @cached_property
    def sop_instance_uid(self) -> str:
        return text_of(self.dataset, "SOPInstanceUID")

    @cached_property
    def sop_class_uid(self) -> str:
        return text_of(self.dataset, "SOPClassUID")

    @cached_property
    def series_instance_uid(self) -> str:
        return text_of(self.dataset, "SeriesInstanceUID")

    @cached_property
    def study_instance_uid(self) -> str:
        return text_of(self.dataset, "StudyInstanceUID")

    @cached_property
    def modality(self) -> str:
        return text_of(self.dataset, "Modality")

    @cached_property
    def instance_number(self) -> int | None:
        return _integer(self.dataset, "InstanceNumber")

    @cached_property
    def number_of_frames(self) -> int:
        """NumberOfFrames, else 1 for an instance with pixel data, else 0."""
        frames = _integer(self.dataset, "NumberOfFrames")
        if frames is not None and frames > 0:
            return frames
        return 1 if self.has_pixel_data else 0

    @property
    def has_pixel_data(self) -> bool:
        return any(k in self.bulk_data for k in PIXEL_DATA_KEYWORDS)

    def add_message(self, code: str, severity: Severity, text: str) -> None:
        message = Message(code, severity, text)
        if message not in self.messages:
            self.messages.append(message)

    def open_dataset(self) -> Dataset:
        """Read the whole instance, bulk values included, through its source."""
        return self.source.open_dataset(self)

    def __repr__(self) -> str:
        return f"<Instance {self.sop_instance_uid or '?'} at {self.location}>"


@dataclass(eq=False)
class Series:
    """The instances of one series, in the order the source delivered them."""

    series_instance_uid: str
    study: Study
    instances: list[Instance] = field(default_factory=list)

    @property
    def _first(self) -> Dataset:
        return self.instances[0].dataset if self.instances else _empty_dataset()

    @property
    def modality(self) -> str:
        return text_of(self._first, "Modality")

    @property
    def series_description(self) -> str:
        return text_of(self._first, "SeriesDescription")

    @property
    def series_number(self) -> int | None:
        return _integer(self._first, "SeriesNumber")

    @property
    def series_date(self) -> str:
        return text_of(self._first, "SeriesDate")

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __len__(self) -> int:
        return len(self.instances)


@dataclass(eq=False)
class Study:
    """A study and its series, keyed by Series Instance UID."""

    study_instance_uid: str
    series: dict[str, Series] = field(default_factory=dict)

    def _first(self) -> Dataset:
        for series in self.series.values():
            if series.instances:
                return series.instances[0].dataset
        return _empty_dataset()

    @property
    def patient_name(self) -> str:
        return text_of(self._first(), "PatientName")

    @property
    def patient_id(self) -> str:
        return text_of(self._first(), "PatientID")

    @property
    def study_date(self) -> str:
        return text_of(self._first(), "StudyDate")

    @property
    def study_description(self) -> str:
        return text_of(self._first(), "StudyDescription")

    @property
    def accession_number(self) -> str:
        return text_of(self._first(), "AccessionNumber")

    def get_series(self, series_instance_uid: str) -> Series:
        """Return the series with this UID, creating it when it is new."""
        series = self.series.get(series_instance_uid)
        if series is None:
            series = Series(series_instance_uid, self)
            self.series[series_instance_uid] = series
        return series

"""What every data source provides, and the problems it reports while reading."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from displaysets.records import Severity

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from displaysets.model import Instance

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """Something that went wrong with one input, named by its location.

    ``severity`` ``error`` means the input (or part of it) could not be read, which
    makes ``displaysets scan`` exit with 1; warnings and infos do not.
    """

    location: str
    code: str
    severity: Severity
    text: str

    def to_json(self) -> dict[str, str]:
        return {
            "location": self.location,
            "code": self.code,
            "severity": self.severity.value,
            "text": self.text,
        }

    def __str__(self) -> str:
        return f"{self.location}: {self.text}"


ScanProgress = Callable[[int, "int | None"], None]
"""Called as ``progress(done, total)`` while a source reads; total may be unknown."""


class DataSource(abc.ABC):
    """A place instances are read from.

    Subclasses yield :class:`~displaysets.model.Instance` objects from
    :meth:`iter_instances`, report unreadable input through ``report``, and fetch the
    full object (bulk values included) in :meth:`open_dataset` when content is loaded.
    Credentials a source needs stay inside it: they are never part of ``repr``,
    messages or JSON.
    """

    #: WADO-RS root URL of the source, where it has one.
    wado_root: str | None = None

    def __init__(self) -> None:
        self.files_seen = 0
        self.non_dicom_skipped = 0

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """A short human-readable name (a path or URL without credentials)."""

    @abc.abstractmethod
    def iter_instances(
        self,
        report: Callable[[Problem], None],
        progress: ScanProgress | None = None,
    ) -> Iterator[Instance]:
        """Yield every readable instance; call ``report`` for each problem."""

    @abc.abstractmethod
    def open_dataset(self, instance: Instance) -> Dataset:
        """Return the whole instance, bulk values included."""

    def input_paths(self) -> list[str]:
        """Local files and folders this source reads, which exports never write."""
        return []

    def wado_uri(self, instance: Instance) -> str | None:
        """A WADO-URI (or WADO-RS instance) URL for ``instance``, where there is one."""
        return None

    def fingerprint(self, instance: Instance) -> str:
        """A digest of the instance's content, to tell identical copies apart from
        conflicting duplicates of a SOP Instance UID."""
        import hashlib
        import json

        data = instance.dataset.to_json_dict(bulk_data_threshold=1 << 30)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def metadata_is_reduced(self, instance: Instance) -> bool:
        """True when the source may have left attributes out of the metadata."""
        return False

    def full_metadata(self, instance: Instance) -> Instance | None:
        """Return the instance with complete metadata, when the source can fetch it."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("data sources hold open handles and credentials; not picklable")

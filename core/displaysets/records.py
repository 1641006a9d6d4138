"""Typed, versioned display set records and their JSON form.

A :class:`DisplaySet` is what a handler produces: the unit a person looks at. Its JSON
form uses the keys an OHIF-style client expects (``plugin``, ``Modality``,
``displaySetInstanceUID``, ...) so that a viewer can consume it unchanged; the Python
attributes use the same names in snake case.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from displaysets.model import Instance

logger = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 1
"""Version of the JSON record layout; raised when a key changes meaning."""


class Severity(str, enum.Enum):
    """How serious a :class:`Message` is."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Message:
    """Something a user should know about a display set.

    ``code`` is a stable upper-case identifier (``UNSUPPORTED_SOP_CLASS``,
    ``HANDLER_ERROR``, ...) that programs can test; ``text`` is for people.
    """

    code: str
    severity: Severity
    text: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity.value, "text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return cls(str(data["code"]), Severity(data["severity"]), str(data["text"]))


class ReferenceKind(str, enum.Enum):
    """Which UID a :class:`Reference` points at."""

    SOP_INSTANCE = "SOPInstanceUID"
    SERIES = "SeriesInstanceUID"
    FRAME_OF_REFERENCE = "FrameOfReferenceUID"


class ReferenceStatus(str, enum.Enum):
    """Whether the core's resolver found the target of a :class:`Reference`."""

    PENDING = "pending"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"


@dataclass
class Reference:
    """A pointer from one display set to images or series it depends on.

    Handlers fill ``kind``, ``uid`` and ``purpose``; the core's reference resolver
    fills ``status`` and ``display_set_instance_uids`` once every display set of the
    scan is known, so every plugin resolves references the same way.
    """

    kind: ReferenceKind
    uid: str
    purpose: str = ""
    frame_numbers: tuple[int, ...] = ()
    status: ReferenceStatus = ReferenceStatus.PENDING
    display_set_instance_uids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "uid": self.uid,
            "purpose": self.purpose,
            "status": self.status.value,
            "displaySetInstanceUIDs": list(self.display_set_instance_uids),
        }
        if self.frame_numbers:
            data["frameNumbers"] = list(self.frame_numbers)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reference:
        return cls(
            kind=ReferenceKind(data["kind"]),
            uid=str(data["uid"]),
            purpose=str(data.get("purpose", "")),
            frame_numbers=tuple(int(n) for n in data.get("frameNumbers", ())),
            status=ReferenceStatus(data.get("status", "pending")),
            display_set_instance_uids=tuple(data.get("displaySetInstanceUIDs", ())),
        )


# Python attribute -> JSON key, in the order they are written.
_JSON_KEYS: Final[dict[str, str]] = {
    "schema_version": "schemaVersion",
    "plugin": "plugin",
    "modality": "Modality",
    "display_set_instance_uid": "displaySetInstanceUID",
    "study_instance_uid": "StudyInstanceUID",
    "series_instance_uid": "SeriesInstanceUID",
    "sop_instance_uid": "SOPInstanceUID",
    "sop_instance_uids": "SOPInstanceUIDs",
    "sop_class_uid": "SOPClassUID",
    "sop_class_name": "SOPClassName",
    "sop_class_handler_id": "SOPClassHandlerId",
    "wado_root": "wadoRoot",
    "wado_uri": "wadoUri",
    "series_description": "SeriesDescription",
    "series_number": "SeriesNumber",
    "series_date": "SeriesDate",
    "num_instances": "numInstances",
    "num_frames": "numFrames",
    "is_derived": "isDerivedDisplaySet",
    "is_overlay": "isOverlayDisplaySet",
    "messages": "messages",
    "references": "references",
}
CORE_JSON_KEYS: Final = frozenset(_JSON_KEYS.values())
"""Keys a plugin's extra ``attributes`` may not use."""


@dataclass(eq=False)
class DisplaySet:
    """One display set: what a viewer shows in one viewport.

    Most fields are filled by :meth:`displaysets.handlers.Offer.display_set`; a handler
    adds its own JSON-serialisable fields in ``attributes`` (written at the top level of
    the JSON record, camelCase by convention). The instances the display set covers and
    the source they came from are kept for lazy loading but never serialised.
    """

    plugin: str
    display_set_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uids: tuple[str, ...]
    sop_class_uid: str
    sop_class_name: str
    sop_class_handler_id: str
    modality: str = ""
    wado_root: str | None = None
    wado_uri: str | None = None
    series_description: str = ""
    series_number: int | None = None
    series_date: str = ""
    num_frames: int = 0
    is_derived: bool = False
    is_overlay: bool = False
    messages: list[Message] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    instances: tuple[Instance, ...] = field(default=(), repr=False)

    @property
    def sop_instance_uid(self) -> str:
        """The first instance's SOP Instance UID, as OHIF records carry it."""
        return self.sop_instance_uids[0] if self.sop_instance_uids else ""

    @property
    def num_instances(self) -> int:
        return len(self.sop_instance_uids)

    def add_message(self, code: str, severity: Severity, text: str) -> None:
        """Attach a message, once: the same code and text are not repeated."""
        message = Message(code, severity, text)
        if message not in self.messages:
            self.messages.append(message)

    @property
    def has_errors(self) -> bool:
        return any(m.severity is Severity.ERROR for m in self.messages)

    def to_json(self) -> dict[str, Any]:
        """Return the record as a JSON-compatible dict (no credentials, no content)."""
        data: dict[str, Any] = {}
        for attribute, key in _JSON_KEYS.items():
            value = getattr(self, attribute)
            if attribute == "messages":
                value = [m.to_json() for m in value]
            elif attribute == "references":
                value = [r.to_json() for r in value]
            elif isinstance(value, tuple):
                value = list(value)
            data[key] = value
        for key, value in self.attributes.items():
            if key in CORE_JSON_KEYS:
                raise ValueError(
                    f"display set attribute {key!r} collides with a core record key"
                )
            data[key] = value
        return data

    def to_json_string(self, **kwargs: Any) -> str:
        return json.dumps(self.to_json(), **kwargs)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DisplaySet:
        """Rebuild a record from :meth:`to_json` output (without its instances)."""
        version = data.get("schemaVersion", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"display set record has schemaVersion {version!r}; "
                f"this version of displaysets reads {SCHEMA_VERSION}"
            )
        init_names = {f.name for f in fields(cls) if f.init}
        kwargs: dict[str, Any] = {}
        for attribute, key in _JSON_KEYS.items():
            if key not in data or attribute not in init_names:
                continue
            value = data[key]
            if attribute == "messages":
                value = [Message.from_json(m) for m in value]
            elif attribute == "references":
                value = [Reference.from_json(r) for r in value]
            elif attribute == "sop_instance_uids":
                value = tuple(value)
            kwargs[attribute] = value
        kwargs["attributes"] = {
            k: v for k, v in data.items() if k not in CORE_JSON_KEYS
        }
        return cls(**kwargs)


def display_sets_to_json(
    display_sets: Iterable[DisplaySet], problems: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The document ``displaysets scan --json`` prints."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "displaySets": [d.to_json() for d in display_sets],
        "problems": list(problems),
    }

"""The handler module contract: what a plugin declares and what the core offers it.

A plugin answers :func:`displaysets.hookspecs.get_sop_class_handler_module` with one or
more :class:`HandlerModule` objects (or plain mappings with the same field names). The
core then hands each handler an :class:`Offer`: a group of instances of one series that
share a SOP class. The handler answers with display sets, or with a :class:`Claim` that
also says why it declined the instances it left.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Union

from displaysets.errors import HandlerModuleError
from displaysets.records import DisplaySet, Message, Reference, Severity
from displaysets.uids import deterministic_uid, is_valid_uid, sop_class_name

if TYPE_CHECKING:
    from displaysets.model import Instance, Series, Study
    from displaysets.sources.base import DataSource

logger = logging.getLogger(__name__)

ANY_SOP_CLASS: Final = "*"
"""Declared by a fallback handler (the built-in unsupported handler) instead of UIDs."""

_HANDLER_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_VIEWPORT_KEY: Final = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class Decline:
    """Instances a handler leaves for the next one, and why."""

    sop_instance_uids: tuple[str, ...]
    reason: str


@dataclass
class Claim:
    """A handler's full answer: the display sets it made and what it declined.

    The instances a handler claims are exactly those its display sets cover; every
    other offered instance is declined, with the reason given here or a generic one.
    """

    display_sets: list[DisplaySet] = field(default_factory=list)
    declined: list[Decline] = field(default_factory=list)

    def decline(self, instances: Iterable[Instance], reason: str) -> None:
        uids = tuple(i.sop_instance_uid for i in instances)
        if uids:
            self.declined.append(Decline(uids, reason))


HandlerAnswer = Union[Sequence[DisplaySet], Claim]  # noqa: UP007 (a runtime alias)
GetDisplaySets = Callable[["Offer"], HandlerAnswer]
LoadContent = Callable[[DisplaySet], Any]
ExportContent = Callable[..., list[Path]]
"""``export(display_set, destination, overwrite, **options) -> files written``."""


@dataclass(frozen=True)
class HandlerModule:
    """What a SOP class handler declares.

    Parameters
    ----------
    id
        Unique, stable identifier, ``<distribution>.<name>`` by convention; it becomes
        the display sets' ``SOPClassHandlerId`` and feeds their UIDs.
    sop_class_uids
        The SOP Class UIDs this handler is offered.
    get_display_sets_from_series
        Maps an :class:`Offer` to display sets (a list) or to a :class:`Claim`.
    viewport
        The viewport plugin key of the display sets it makes (``html``, ``pdf``, ...).
    priority
        Higher is offered first among handlers of the same SOP class.
    load
        Loads a display set's content on demand (pixels, HTML, bytes, masks, tiles).
    export
        Writes a display set's content to a path; returns the files written. Called
        as ``export(display_set, destination, overwrite)``, plus keyword options
        when the user gives ``--option KEY=VALUE``.
    required_attributes
        Keywords the handler needs in the metadata; a source that leaves them out
        (reduced DICOMweb metadata) is asked for the full metadata.
    description
        One line for ``displaysets plugins``.
    """

    id: str
    sop_class_uids: tuple[str, ...]
    get_display_sets_from_series: GetDisplaySets
    viewport: str
    priority: int = 0
    load: LoadContent | None = None
    export: ExportContent | None = None
    required_attributes: tuple[str, ...] = ()
    description: str = ""

    @property
    def is_fallback(self) -> bool:
        return ANY_SOP_CLASS in self.sop_class_uids


HANDLER_MODULE_FIELDS: Final = tuple(f.name for f in fields(HandlerModule))
_REQUIRED_FIELDS: Final = ("id", "sop_class_uids", "get_display_sets_from_series")


def validate_handler_module(
    candidate: object, *, plugin: str, distribution: str = ""
) -> HandlerModule:
    """Check a plugin's handler module and return it as a :class:`HandlerModule`.

    Raises
    ------
    HandlerModuleError
        For a missing or misspelled field, a malformed UID or id, or a wrong type;
        the message names the plugin, its distribution and the field.
    """

    def fail(name: str, reason: str) -> HandlerModuleError:
        return HandlerModuleError(plugin, distribution, name, reason)

    if isinstance(candidate, HandlerModule):
        values = {f: getattr(candidate, f) for f in HANDLER_MODULE_FIELDS}
    elif isinstance(candidate, Mapping):
        values = dict(candidate)
        for name in values:
            if name not in HANDLER_MODULE_FIELDS:
                close = difflib.get_close_matches(str(name), HANDLER_MODULE_FIELDS, 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise fail(str(name), f"unknown field{hint}")
    else:
        raise fail(
            "<module>",
            f"expected a HandlerModule or a mapping, got {type(candidate).__name__}",
        )
    for name in _REQUIRED_FIELDS:
        if values.get(name) is None:
            raise fail(name, "required field is missing")

    handler_id = values["id"]
    if not isinstance(handler_id, str) or not _HANDLER_ID.match(handler_id):
        raise fail("id", f"must be a non-empty identifier string, got {handler_id!r}")

    uids = values["sop_class_uids"]
    if isinstance(uids, str) or not isinstance(uids, Iterable):
        raise fail("sop_class_uids", f"must be a sequence of UIDs, got {uids!r}")
    uids = tuple(uids)
    if not uids:
        raise fail("sop_class_uids", "declares no SOP Class UID")
    invalid = [u for u in uids if u != ANY_SOP_CLASS and not is_valid_uid(u)]
    if len(invalid) == 1:
        raise fail("sop_class_uids", f"{invalid[0]!r} is not a valid UID")
    if invalid:
        shown = ", ".join(repr(u) for u in invalid)
        raise fail("sop_class_uids", f"{shown} are not valid UIDs")
    if len(set(uids)) != len(uids):
        raise fail("sop_class_uids", "declares a SOP Class UID more than once")
    values["sop_class_uids"] = uids

    viewport = values.get("viewport")
    if viewport is None:
        raise fail("viewport", "required field is missing")
    if not isinstance(viewport, str) or not _VIEWPORT_KEY.match(viewport):
        raise fail(
            "viewport", f"must be a lower-case key such as 'pdf', got {viewport!r}"
        )

    for name in ("get_display_sets_from_series", "load", "export"):
        value = values.get(name)
        if value is not None and not callable(value):
            raise fail(name, f"must be callable, got {type(value).__name__}")

    priority = values.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise fail("priority", f"must be an int, got {priority!r}")

    required = values.get("required_attributes", ())
    if isinstance(required, str) or not all(isinstance(k, str) for k in required):
        raise fail("required_attributes", "must be a sequence of attribute keywords")
    values["required_attributes"] = tuple(required)

    if not isinstance(values.get("description", ""), str):
        raise fail("description", "must be a string")
    return HandlerModule(**values)


@dataclass
class Offer:
    """A group of instances offered to one handler.

    All instances belong to one series and share one SOP Class UID. ``instances`` is
    what is still unclaimed when this handler's turn comes.
    """

    handler: HandlerModule
    sop_class_uid: str
    instances: list[Instance]
    series: Series
    study: Study
    source: DataSource | None
    install_hints: Mapping[str, str] = field(default_factory=dict)
    """SOP Class UID -> distribution that would handle it (for fallback handlers)."""
    uid_salt: str = ""
    """Set by the core to keep the display set UIDs of conflicting duplicates apart."""
    declined_by: tuple[tuple[str, str], ...] = ()
    """(handler id, reason) of the handlers offered this group before, that declined."""

    @property
    def sop_class_name(self) -> str:
        return sop_class_name(self.sop_class_uid)

    def display_set(
        self,
        instances: Sequence[Instance],
        *,
        discriminator: str = "",
        plugin: str | None = None,
        num_frames: int | None = None,
        messages: Iterable[Message] = (),
        references: Iterable[Reference] = (),
        attributes: Mapping[str, Any] | None = None,
        is_derived: bool = False,
        is_overlay: bool = False,
    ) -> DisplaySet:
        """Make a display set covering ``instances`` with the core fields filled.

        ``discriminator`` separates display sets that cover the same instances (for
        example a per-frame split); the display set UID is derived from the handler
        id, study, series, discriminator and the covered SOP Instance UIDs.
        """
        if not instances:
            raise ValueError("a display set covers at least one instance")
        uids = tuple(i.sop_instance_uid for i in instances)
        first = instances[0]
        source = first.source
        uid = deterministic_uid(
            [
                self.handler.id,
                self.study.study_instance_uid,
                self.series.series_instance_uid,
                discriminator,
                self.uid_salt,
                *sorted(uids),
            ]
        )
        display_set = DisplaySet(
            plugin=plugin or self.handler.viewport,
            display_set_instance_uid=uid,
            study_instance_uid=self.study.study_instance_uid,
            series_instance_uid=self.series.series_instance_uid,
            sop_instance_uids=uids,
            sop_class_uid=self.sop_class_uid,
            sop_class_name=self.sop_class_name,
            sop_class_handler_id=self.handler.id,
            modality=first.modality or self.series.modality,
            wado_root=source.wado_root if source else None,
            wado_uri=source.wado_uri(first) if source else None,
            series_description=self.series.series_description,
            series_number=self.series.series_number,
            series_date=self.series.series_date,
            num_frames=(
                sum(i.number_of_frames for i in instances)
                if num_frames is None
                else num_frames
            ),
            is_derived=is_derived,
            is_overlay=is_overlay,
            messages=list(messages),
            references=list(references),
            attributes=dict(attributes or {}),
            instances=tuple(instances),
        )
        for instance in instances:
            for message in instance.messages:
                display_set.add_message(message.code, message.severity, message.text)
        return display_set


def message(code: str, severity: Severity, text: str) -> Message:
    """Shorthand for :class:`displaysets.records.Message`."""
    return Message(code, severity, text)

"""One reference resolver for every plugin: UIDs to the display sets that hold them.

Handlers attach :class:`~displaysets.records.Reference` objects (to SOP instances,
series or frames of reference) and the service resolves them here once every display
set of the scan is known. A reference whose target is absent is marked unresolved and
the display set says so in a message, so a viewer never silently shows a SEG or SR
without its images.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from displaysets.model import value_of
from displaysets.records import DisplaySet, ReferenceKind, ReferenceStatus, Severity

logger = logging.getLogger(__name__)

UNRESOLVED_CODE: Final = "REFERENCES_UNRESOLVED"


class ReferenceResolver:
    """Indexes display sets by the UIDs they cover and resolves references to them."""

    def __init__(self, display_sets: Sequence[DisplaySet]) -> None:
        self.display_sets = list(display_sets)
        self._index: dict[ReferenceKind, dict[str, list[str]]] = {
            kind: {} for kind in ReferenceKind
        }
        for display_set in self.display_sets:
            uid = display_set.display_set_instance_uid
            self._add(ReferenceKind.SERIES, display_set.series_instance_uid, uid)
            for sop_instance_uid in display_set.sop_instance_uids:
                self._add(ReferenceKind.SOP_INSTANCE, sop_instance_uid, uid)
            for instance in display_set.instances:
                frame_of_reference = value_of(instance.dataset, "FrameOfReferenceUID")
                if frame_of_reference:
                    self._add(
                        ReferenceKind.FRAME_OF_REFERENCE, str(frame_of_reference), uid
                    )

    def _add(self, kind: ReferenceKind, key: str, display_set_uid: str) -> None:
        targets = self._index[kind].setdefault(key, [])
        if display_set_uid not in targets:
            targets.append(display_set_uid)

    def lookup(self, kind: ReferenceKind, uid: str) -> list[str]:
        """Display set UIDs that hold ``uid`` of this kind, in scan order."""
        return list(self._index[kind].get(uid, ()))

    def resolve(self) -> None:
        """Fill status and targets of every reference; note unresolved ones."""
        for display_set in self.display_sets:
            display_set.messages = [
                m for m in display_set.messages if m.code != UNRESOLVED_CODE
            ]
            unresolved = []
            for reference in display_set.references:
                targets = [
                    t
                    for t in self.lookup(reference.kind, reference.uid)
                    if t != display_set.display_set_instance_uid
                ]
                reference.display_set_instance_uids = tuple(targets)
                reference.status = (
                    ReferenceStatus.RESOLVED if targets else ReferenceStatus.UNRESOLVED
                )
                if not targets:
                    unresolved.append(reference)
            if unresolved:
                shown = ", ".join(f"{r.kind.value} {r.uid}" for r in unresolved[:3])
                more = f" and {len(unresolved) - 3} more" if len(unresolved) > 3 else ""
                display_set.add_message(
                    UNRESOLVED_CODE,
                    Severity.WARNING,
                    f"{len(unresolved)} of {len(display_set.references)} references "
                    f"are not among the scanned display sets: {shown}{more}",
                )

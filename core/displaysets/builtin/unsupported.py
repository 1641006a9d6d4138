"""The fallback handler: every instance no other handler claims lands here.

Its display sets name the SOP class by name and UID and, where known, the plugin
distribution that would handle it, so a user learns what to install.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from displaysets.handlers import ANY_SOP_CLASS, HandlerModule, Offer
from displaysets.hookspecs import hookimpl
from displaysets.records import DisplaySet, Severity
from displaysets.sop_classes import INSTALL_HINTS
from displaysets.uids import describe_sop_class

logger = logging.getLogger(__name__)

VIEWPORT: Final = "unsupported"


def unsupported_text(sop_class_uid: str, count: int, hint: str | None) -> str:
    """The message of an unsupported display set."""
    text = (
        f"no installed handler displays {describe_sop_class(sop_class_uid)} "
        f"({count} instance{'s' if count != 1 else ''})"
    )
    if hint:
        text += f"; install {hint} to display it"
    return text


def get_unsupported_display_sets(offer: Offer) -> list[DisplaySet]:
    """One unsupported display set for the whole group offered, with the references
    its objects make, so that it still points at the images it belongs to."""
    from displaysets.references import references_in

    display_set = offer.display_set(
        offer.instances,
        references=references_in(i.dataset for i in offer.instances),
    )
    hint = offer.install_hints.get(offer.sop_class_uid)
    if offer.declined_by and offer.sop_class_uid:
        reasons = "; ".join(
            f"{handler} ({reason})"
            for handler, reason in dict.fromkeys(offer.declined_by)
        )
        code, text = (
            "DECLINED_BY_HANDLERS",
            (
                f"{describe_sop_class(offer.sop_class_uid)} ({len(offer.instances)} "
                f"instance{'s' if len(offer.instances) != 1 else ''}) was declined by "
                f"{reasons}"
            ),
        )
        hint = None
    elif not offer.sop_class_uid:
        code, text = (
            "MISSING_SOP_CLASS_UID",
            (
                f"{len(offer.instances)} instance(s) without a SOP Class UID cannot be "
                "dispatched to a handler"
            ),
        )
    else:
        code, text = (
            "UNSUPPORTED_SOP_CLASS",
            unsupported_text(offer.sop_class_uid, len(offer.instances), hint),
        )
    display_set.add_message(code, Severity.WARNING, text)
    if hint:
        display_set.attributes["installHint"] = hint
    return [display_set]


UNSUPPORTED_HANDLER: Final = HandlerModule(
    id="displaysets.unsupported",
    sop_class_uids=(ANY_SOP_CLASS,),
    get_display_sets_from_series=get_unsupported_display_sets,
    viewport=VIEWPORT,
    priority=-1000,
    description="Fallback for every instance no other handler claims",
)


def _no_display_sets(offer: Offer) -> list[DisplaySet]:
    return []


def failure_handler(handler_id: str) -> HandlerModule:
    """A stand-in handler module under whose id error display sets are made."""
    return HandlerModule(
        id=f"displaysets.error.{handler_id}",
        sop_class_uids=(ANY_SOP_CLASS,),
        get_display_sets_from_series=_no_display_sets,
        viewport="error",
    )


@hookimpl
def get_sop_class_handler_module() -> HandlerModule:
    return UNSUPPORTED_HANDLER


@hookimpl
def get_sop_class_install_hints() -> Mapping[str, str]:
    return INSTALL_HINTS

"""The ``dicom-html`` plugin: structured reports and key object selections.

Every SR storage SOP class and Key Object Selection is handled: one display set per
document, newest first, carrying the document's title, flags, dates, observers,
template, item count and its references to images and series (resolved by the core).
Content is loaded lazily as :class:`~displaysets_dicom_html.report.StructuredReport`,
whose HTML is rendered on first use; export writes that HTML.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Final

from displaysets import HandlerModule, hookimpl
from displaysets.handlers import Claim, Offer
from displaysets.records import DisplaySet, Reference, ReferenceKind, Severity
from displaysets.sop_classes import STRUCTURED_REPORTS

logger = logging.getLogger(__name__)

HANDLER_ID: Final = "displaysets-dicom-html.sr"
VIEWPORT: Final = "html"
MAX_LISTED: Final = 5
"""How many problem items a message lists before it says how many more there are."""


def _listed(entries: list[str]) -> str:
    shown = "; ".join(entries[:MAX_LISTED])
    more = len(entries) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _display_set(offer: Offer, instance: Any) -> DisplaySet:
    from displaysets_dicom_html.document import content_of
    from displaysets_dicom_html.summary import summarize

    location = instance.location
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = content_of(instance)
        summary = summarize(instance.dataset, parsed.tree)

    references = [
        Reference(ReferenceKind.SOP_INSTANCE, uid, purpose=ref.purpose)
        for uid, ref in summary.referenced_instances.items()
    ]
    references += [
        Reference(ReferenceKind.SERIES, uid, purpose=f"{purpose} series")
        for uid, purpose in summary.referenced_series.items()
    ]
    attributes: dict[str, Any] = {
        "documentTitle": summary.title,
        "documentTitleCode": summary.title_code.to_json()
        if summary.title_code
        else None,
        "completionFlag": summary.completion_flag,
        "verificationFlag": summary.verification_flag,
        "preliminaryFlag": summary.preliminary_flag,
        "contentDate": summary.content_date,
        "contentTime": summary.content_time,
        "observers": summary.observers,
        "templateIdentifier": summary.template,
        "templateMappingResource": summary.template_mapping_resource,
        "isMeasurementReport": summary.is_measurement_report,
        "numMeasurementGroups": summary.num_measurement_groups,
        "numContentItems": summary.num_content_items,
        "referencedSOPInstanceUIDs": list(summary.referenced_instances),
        "referencedSeriesInstanceUIDs": list(summary.referenced_series),
    }
    if summary.key_images or offer.sop_class_uid.endswith(".88.59"):
        attributes["keyImages"] = [
            {
                "SOPInstanceUID": k.sop_instance_uid,
                "SOPClassUID": k.sop_class_uid,
                "frameNumbers": list(k.frame_numbers),
                "path": k.paths[0] if k.paths else "",
            }
            for k in summary.key_images
        ]
    display_set = offer.display_set(
        [instance], attributes=attributes, references=references, num_frames=0
    )
    for problem in parsed.problems:
        display_set.add_message(
            "SR_CONTENT_INCOMPLETE", Severity.WARNING, f"{location}: {problem}"
        )
    if summary.item_problems:
        display_set.add_message(
            "SR_CONTENT_ITEM_INVALID",
            Severity.WARNING,
            f"{location}: {len(summary.item_problems)} content item(s) are malformed "
            f"and shown as far as they can be: {_listed(summary.item_problems)}",
        )
    if summary.broken_references:
        display_set.add_message(
            "SR_BROKEN_BY_REFERENCE",
            Severity.WARNING,
            f"{location}: {len(summary.broken_references)} by-reference "
            "relationship(s) "
            f"point nowhere or in a circle: {_listed(summary.broken_references)}",
        )
    return display_set


def _newest_first_key(instance: Any) -> tuple[str, int, str]:
    from displaysets_dicom_html.summary import document_time

    return (
        document_time(instance.dataset),
        instance.instance_number or 0,
        instance.sop_instance_uid,
    )


def get_sr_display_sets(offer: Offer) -> Claim:
    """One display set per SR document of the offer, newest first."""
    claim = Claim()
    instances = sorted(offer.instances, key=_newest_first_key, reverse=True)
    for instance in instances:
        try:
            claim.display_sets.append(_display_set(offer, instance))
        except Exception as error:  # keep one bad document from hiding the others
            logger.exception("%s: cannot read the SR document", instance.location)
            display_set = offer.display_set([instance], num_frames=0)
            display_set.add_message(
                "SR_UNREADABLE",
                Severity.ERROR,
                f"{instance.location}: cannot read the SR document: {error}",
            )
            claim.display_sets.append(display_set)
    return claim


def load_report(display_set: DisplaySet) -> Any:
    """The report content of a display set (its HTML rendered on first use)."""
    from displaysets_dicom_html.report import StructuredReport

    return StructuredReport(display_set)


def export_html(
    display_set: DisplaySet, destination: Path, overwrite: bool
) -> list[Path]:
    """Write the report's HTML page (into a folder as ``<SOPInstanceUID>.html``)."""
    from displaysets.errors import DestinationExists
    from displaysets.exporting import replacing
    from displaysets.uids import safe_file_stem

    from displaysets_dicom_html.report import StructuredReport

    target = destination
    if destination.is_dir() or str(destination).endswith(("/", "\\")):
        target = (
            destination
            / f"{safe_file_stem(display_set.sop_instance_uid, 'report')}.html"
        )
    if target.exists() and not overwrite:
        raise DestinationExists(target)
    page = StructuredReport(display_set).html
    with replacing(target) as temporary:
        temporary.write_bytes(page.encode("utf-8"))
    return [target]


SR_HANDLER: Final = HandlerModule(
    id=HANDLER_ID,
    sop_class_uids=tuple(STRUCTURED_REPORTS),
    get_display_sets_from_series=get_sr_display_sets,
    viewport=VIEWPORT,
    load=load_report,
    export=export_html,
    required_attributes=("ContentSequence", "ValueType", "ConceptNameCodeSequence"),
    description="Structured reports and key object selections as safe HTML",
)


@hookimpl
def get_sop_class_handler_module() -> HandlerModule:
    return SR_HANDLER

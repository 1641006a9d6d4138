"""An example handler plugin: 12-lead ECG waveforms as ``ecg`` display sets.

It is the smallest complete plugin: one hook implementation returning one handler
module. The README's plugin guide walks through it.
"""

from __future__ import annotations

from displaysets import DisplaySet, HandlerModule, Offer, hookimpl

TWELVE_LEAD_ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"


def ecg_display_sets(offer: Offer) -> list[DisplaySet]:
    """One display set per ECG instance, with its number of waveform groups."""
    display_sets = []
    for instance in offer.instances:
        groups = len(instance.dataset.get("WaveformSequence", []))
        display_sets.append(
            offer.display_set([instance], attributes={"waveformGroups": groups})
        )
    return display_sets


@hookimpl
def get_sop_class_handler_module() -> HandlerModule:
    return HandlerModule(
        id="displaysets-example-ecg.ecg",
        sop_class_uids=(TWELVE_LEAD_ECG,),
        get_display_sets_from_series=ecg_display_sets,
        viewport="ecg",
        description="12-lead ECG waveforms (example plugin)",
    )

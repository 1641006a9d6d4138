"""Which images a segmentation was made on, through a chain of fallbacks.

The first place that names source images wins: the Referenced Series Sequence, then
the Source Image Sequences of the per-frame and shared functional groups, then the
image-level Derivation Image and Source Image Sequences, and last the Frame of
Reference UID. The result becomes core :class:`~displaysets.Reference` objects, which
the core's resolver ties to the display sets that hold those images.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Final

from displaysets import Reference, ReferenceKind
from pydicom.dataset import Dataset

from displaysets_dicom_seg.frames import FrameInfo, SourceFrame, source_frames_of
from displaysets_dicom_seg.segments import sequence, text

logger = logging.getLogger(__name__)

FROM_REFERENCED_SERIES: Final = "ReferencedSeriesSequence"
FROM_FUNCTIONAL_GROUPS: Final = "SourceImageSequence (functional groups)"
FROM_IMAGE_DERIVATION: Final = "DerivationImageSequence/SourceImageSequence (image)"
FROM_FRAME_OF_REFERENCE: Final = "FrameOfReferenceUID"

PURPOSE_SERIES: Final = "source series"
PURPOSE_IMAGE: Final = "source image"
PURPOSE_FRAME_OF_REFERENCE: Final = "frame of reference (no source images named)"


@dataclass
class ReferencedInstance:
    """A source image and the frames of it the segmentation covers."""

    sop_instance_uid: str
    sop_class_uid: str = ""
    frame_numbers: set[int] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "ReferencedSOPInstanceUID": self.sop_instance_uid,
            "ReferencedSOPClassUID": self.sop_class_uid,
            "ReferencedFrameNumber": sorted(self.frame_numbers),
        }


@dataclass
class SourceReferences:
    """The source images of a segmentation and where they were found."""

    found_in: str | None
    series: dict[str, list[str]]
    """Series Instance UID -> SOP Instance UIDs listed for it."""
    instances: dict[str, ReferencedInstance]
    frame_of_reference_uid: str

    @property
    def instance_order(self) -> list[str]:
        return list(self.instances)

    def to_references(self) -> list[Reference]:
        """Core references: series and images, or the frame of reference alone."""
        references = [
            Reference(ReferenceKind.SERIES, uid, PURPOSE_SERIES) for uid in self.series
        ]
        references.extend(
            Reference(
                ReferenceKind.SOP_INSTANCE,
                uid,
                PURPOSE_IMAGE,
                frame_numbers=tuple(sorted(instance.frame_numbers)),
            )
            for uid, instance in self.instances.items()
        )
        if not references and self.frame_of_reference_uid:
            references.append(
                Reference(
                    ReferenceKind.FRAME_OF_REFERENCE,
                    self.frame_of_reference_uid,
                    PURPOSE_FRAME_OF_REFERENCE,
                )
            )
        return references

    def to_json(self) -> dict[str, Any]:
        return {
            "referencesFoundIn": self.found_in,
            "referencedSeries": [
                {"SeriesInstanceUID": uid, "ReferencedSOPInstanceUIDs": list(members)}
                for uid, members in self.series.items()
            ],
            "referencedInstances": [i.to_json() for i in self.instances.values()],
        }


def _add(
    instances: dict[str, ReferencedInstance], source: SourceFrame
) -> ReferencedInstance:
    known = instances.get(source.sop_instance_uid)
    if known is None:
        known = ReferencedInstance(source.sop_instance_uid, source.sop_class_uid)
        instances[source.sop_instance_uid] = known
    if not known.sop_class_uid and source.sop_class_uid:
        known.sop_class_uid = source.sop_class_uid
    known.frame_numbers.update(source.frame_numbers)
    return known


def _from_referenced_series(
    dataset: Dataset,
) -> tuple[dict[str, list[str]], list[SourceFrame]]:
    series: dict[str, list[str]] = {}
    sources: list[SourceFrame] = []
    for item in sequence(dataset, "ReferencedSeriesSequence"):
        series_uid = text(item, "SeriesInstanceUID")
        members = series.setdefault(series_uid, []) if series_uid else []
        for member in sequence(item, "ReferencedInstanceSequence"):
            uid = text(member, "ReferencedSOPInstanceUID")
            if not uid:
                continue
            members.append(uid)
            sources.append(SourceFrame(uid, text(member, "ReferencedSOPClassUID")))
    return series, sources


def collect_source_references(
    dataset: Dataset, frames: list[FrameInfo]
) -> SourceReferences:
    """Walk the fallback chain and return the first source images it finds.

    Frame numbers the functional groups give for an image are kept whichever link of
    the chain named the image.
    """
    frame_of_reference = text(dataset, "FrameOfReferenceUID")
    instances: dict[str, ReferencedInstance] = {}
    series, listed = _from_referenced_series(dataset)
    from_groups = [s for f in frames for s in f.sources]
    if not from_groups:
        shared = sequence(dataset, "SharedFunctionalGroupsSequence")
        from_groups = list(source_frames_of(shared[0] if shared else None))

    if listed or series:
        found_in: str | None = FROM_REFERENCED_SERIES
        for source in listed:
            _add(instances, source)
        for source in from_groups:
            if source.sop_instance_uid in instances:
                _add(instances, source)
    elif from_groups:
        found_in = FROM_FUNCTIONAL_GROUPS
        for source in from_groups:
            _add(instances, source)
    else:
        image_level = list(source_frames_of(dataset))
        if image_level:
            found_in = FROM_IMAGE_DERIVATION
            for source in image_level:
                _add(instances, source)
        else:
            found_in = FROM_FRAME_OF_REFERENCE if frame_of_reference else None
    return SourceReferences(found_in, series, instances, frame_of_reference)

"""The content of a segmentation display set: per-segment masks aligned to the sources.

Nothing is read until a mask is asked for. Masks share one list of *planes* (a source
image frame or a position each); ``mask.array[i]`` is the segment on ``planes[i]``.
BINARY masks hold 0/1 (``uint8``), FRACTIONAL masks the stored value divided by the
Maximum Fractional Value (``float32``), and a LABELMAP has a label array of segment
numbers from which each segment's 0/1 mask is taken. Segments are never combined, so
overlapping segments stay apart; a segment without frames has an all-zero mask.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from displaysets import ContentError, DisplaySet, Instance, Message

from displaysets_dicom_seg.analysis import SegmentationAnalysis, analyse_segmentation
from displaysets_dicom_seg.decoding import FrameDecoder
from displaysets_dicom_seg.frames import Plane
from displaysets_dicom_seg.segments import Segment

if TYPE_CHECKING:
    import numpy as np
    from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)


@dataclass
class SegmentMask:
    """One segment's mask over the planes of its segmentation."""

    segment: Segment
    array: np.ndarray
    """Shape (planes, rows, columns)."""
    planes: tuple[Plane, ...]

    @property
    def segment_number(self) -> int:
        return self.segment.number

    def plane_index(self, sop_instance_uid: str, frame_number: int = 0) -> int:
        """Index of the plane on this source image (and frame); ``KeyError`` if none."""
        for index, plane in enumerate(self.planes):
            if plane.source_sop_instance_uid == sop_instance_uid and (
                frame_number == 0 or plane.source_frame_number == frame_number
            ):
                return index
        raise KeyError(f"no plane on {sop_instance_uid} frame {frame_number}")

    def for_source(self, sop_instance_uid: str, frame_number: int = 0) -> np.ndarray:
        """The 2-D mask on one source image (and frame)."""
        return self.array[self.plane_index(sop_instance_uid, frame_number)]


@dataclass
class SegmentationContent:
    """What ``load`` returns for a segmentation display set (lazy).

    Parameters
    ----------
    display_set
        The segmentation's display set; its one instance is read on first use.
    """

    display_set: DisplaySet
    messages: list[Message] = field(default_factory=list)
    _dataset: Dataset | None = field(default=None, repr=False)
    _analysis: SegmentationAnalysis | None = field(default=None, repr=False)
    _decoder: FrameDecoder | None = field(default=None, repr=False)
    _labels: np.ndarray | None = field(default=None, repr=False)

    @property
    def instance(self) -> Instance:
        return self.display_set.instances[0]

    @property
    def location(self) -> str:
        return self.instance.location

    def _open(self) -> tuple[SegmentationAnalysis, FrameDecoder]:
        if self._analysis is None or self._decoder is None:
            instance = self.instance
            try:
                dataset = instance.open_dataset()
            except Exception as error:
                raise ContentError(
                    f"{instance.location}: cannot read the segmentation: {error}"
                ) from error
            number_of_frames = instance.number_of_frames
            analysis = analyse_segmentation(
                dataset, instance.location, number_of_frames=number_of_frames
            )
            for finding in analysis.findings:
                message = Message(finding.code, finding.severity, finding.text)
                if message not in self.messages:
                    self.messages.append(message)
            if analysis.layout.placement is None and number_of_frames:
                raise ContentError(
                    f"{instance.location}: no frame names a source image, a "
                    "position or dimension index values; masks cannot be placed"
                )
            self._decoder = FrameDecoder(dataset, instance.location, number_of_frames)
            self._dataset = dataset
            self._analysis = analysis
        return self._analysis, self._decoder

    @property
    def analysis(self) -> SegmentationAnalysis:
        return self._open()[0]

    @property
    def segmentation_type(self) -> str:
        return self.analysis.description.segmentation_type

    @property
    def segments(self) -> list[Segment]:
        return list(self.analysis.description.segments)

    @property
    def planes(self) -> tuple[Plane, ...]:
        return tuple(self.analysis.layout.planes)

    def _empty(self, dtype: Any) -> np.ndarray:
        import numpy as np

        decoder = self._open()[1]
        return np.zeros((len(self.planes), decoder.rows, decoder.columns), dtype=dtype)

    def label_map(self) -> np.ndarray:
        """The label array of a LABELMAP segmentation: (planes, rows, columns).

        Raises
        ------
        ContentError
            For a BINARY or FRACTIONAL segmentation (use :meth:`mask`).
        """
        if self.segmentation_type != "LABELMAP":
            raise ContentError(
                f"{self.location}: a {self.segmentation_type} segmentation has no "
                "label map; its segments are separate masks"
            )
        if self._labels is None:
            analysis, decoder = self._open()
            labels: np.ndarray | None = None
            for frame_number, plane in sorted(analysis.layout.plane_of_frame.items()):
                frame = decoder.stored_frame(frame_number)
                if labels is None:
                    labels = self._empty(frame.dtype)
                labels[plane] = frame
            self._labels = labels if labels is not None else self._empty("uint8")
        return self._labels

    def mask(self, segment_number: int) -> SegmentMask:
        """The mask of one segment; ``KeyError`` for an undeclared segment number."""
        import numpy as np

        analysis, decoder = self._open()
        segment = analysis.description.segment(segment_number)
        if segment is None:
            raise KeyError(
                f"{self.location}: segment {segment_number} is not declared "
                f"(segments: {analysis.description.segment_numbers})"
            )
        planes = self.planes
        if self.segmentation_type == "LABELMAP":
            array = (self.label_map() == segment_number).astype(np.uint8)
            return SegmentMask(segment, array, planes)

        fractional = self.segmentation_type == "FRACTIONAL"
        maximum = analysis.description.maximum_fractional_value
        if fractional and maximum is None:
            raise ContentError(
                f"{self.location}: a FRACTIONAL segmentation without a Maximum "
                "Fractional Value cannot be scaled"
            )
        array = self._empty(np.float32 if fractional else np.uint8)
        for frame in analysis.layout.frames:
            if frame.segment_number != segment_number:
                continue
            plane = analysis.layout.plane_of_frame.get(frame.number)
            if plane is None:
                continue
            stored = decoder.stored_frame(frame.number)
            if fractional:
                array[plane] = stored.astype(np.float32) / np.float32(maximum)
            else:
                array[plane] = stored > 0
        return SegmentMask(segment, array, planes)

    def masks(self) -> Iterator[SegmentMask]:
        """Every declared segment's mask, one at a time, in Segment Sequence order."""
        for segment in self.segments:
            yield self.mask(segment.number)


def load_segmentation(display_set: DisplaySet) -> SegmentationContent:
    """The handler's ``load``: the lazy content of a segmentation display set."""
    if len(display_set.instances) != 1:
        raise ContentError(
            f"display set {display_set.display_set_instance_uid} should cover one "
            f"segmentation instance, not {len(display_set.instances)}"
        )
    return SegmentationContent(display_set)

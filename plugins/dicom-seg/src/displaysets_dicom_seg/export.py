"""Export a segmentation's masks as a NumPy ``.npz`` archive with a JSON sidecar.

The archive holds one array per segment, ``segment_<SegmentNumber>`` of shape
(planes, rows, columns), plus ``label_map`` for a LABELMAP segmentation and the
planes' placement: ``referenced_sop_instance_uids``, ``referenced_frame_numbers``
(0 where none) and ``image_position_patient`` (NaN where none). The sidecar
``<name>.json`` carries the segments (labels, codes, colours), the segmentation type
and the same planes, so ``numpy.load`` and ``json.load`` are all a user needs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Final

from displaysets import DisplaySet, ExportError
from displaysets.errors import DestinationExists
from displaysets.exporting import replacing

from displaysets_dicom_seg.content import SegmentationContent, load_segmentation

logger = logging.getLogger(__name__)

FORMAT: Final = "displaysets-dicom-seg masks 1"
"""Written to the sidecar as ``format``; raised when the layout changes."""
DEFAULT_NAME: Final = "segmentation"


def _targets(destination: Path) -> tuple[Path, Path]:
    if destination.suffix.lower() == ".npz":
        return destination, destination.with_suffix(".json")
    if destination.exists() and not destination.is_dir():
        raise ExportError(
            f"{destination}: a segmentation exports to a folder or an .npz path"
        )
    return destination / f"{DEFAULT_NAME}.npz", destination / f"{DEFAULT_NAME}.json"


def export_segmentation(
    display_set: DisplaySet, destination: Path, overwrite: bool
) -> list[Path]:
    """Write the masks to ``destination`` (an ``.npz`` path or a folder).

    Returns
    -------
    list of Path
        The archive and its JSON sidecar.

    Raises
    ------
    ExportError
        When a target exists and ``overwrite`` is false, or the destination is a file
        that is not ``.npz``.
    """
    import numpy as np

    archive, sidecar = _targets(Path(destination))
    for target in (archive, sidecar):
        if target.exists() and not overwrite:
            raise DestinationExists(target)
    content: SegmentationContent = load_segmentation(display_set)

    arrays: dict[str, Any] = {}
    segments = []
    for mask in content.masks():
        name = f"segment_{mask.segment_number}"
        arrays[name] = mask.array
        segments.append({**mask.segment.to_json(), "array": name})
    if content.segmentation_type == "LABELMAP":
        arrays["label_map"] = content.label_map()
    planes = content.planes
    arrays["referenced_sop_instance_uids"] = np.array(
        [p.source_sop_instance_uid for p in planes], dtype=np.str_
    )
    arrays["referenced_frame_numbers"] = np.array(
        [p.source_frame_number for p in planes], dtype=np.int64
    )
    arrays["image_position_patient"] = np.array(
        [p.image_position or (np.nan, np.nan, np.nan) for p in planes],
        dtype=np.float64,
    ).reshape(len(planes), 3)

    description = content.analysis.description
    metadata = {
        "format": FORMAT,
        "displaySetInstanceUID": display_set.display_set_instance_uid,
        "SOPInstanceUID": display_set.sop_instance_uid,
        "SeriesInstanceUID": display_set.series_instance_uid,
        "StudyInstanceUID": display_set.study_instance_uid,
        "segmentationType": description.segmentation_type,
        "segmentationFractionalType": description.fractional_type,
        "maximumFractionalValue": description.maximum_fractional_value,
        "framesPlacedBy": content.analysis.layout.placement,
        "planes": [p.to_json() for p in planes],
        "segments": segments,
        "labelMapArray": "label_map" if "label_map" in arrays else None,
        "messages": [m.to_json() for m in content.messages],
    }
    archive.parent.mkdir(parents=True, exist_ok=True)
    with replacing(archive) as temporary, temporary.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    with replacing(sidecar) as temporary:
        temporary.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    logger.info(
        "%s: wrote %d segment mask(s) to %s", content.location, len(segments), archive
    )
    return [archive, sidecar]

"""Benchmark: all masks of a segmentation through displaysets-dicom-seg vs highdicom.

Both sides start from the file on disk and end with every segment's mask as a NumPy
array; they run interleaved in one process and the medians are compared. Cases:

* the largest segmentation of the corpus (by frames x rows x columns); highdicom's
  mask API cannot index it (no source frames, no segment dimension), so its side is
  ``segread`` + ``get_stored_frames`` scaled by Maximum Fractional Value, the least
  work highdicom offers for those masks;
* the largest corpus segmentation highdicom's mask API reads
  (``get_pixels_by_source_instance``);
* a larger BINARY segmentation (10 segments on the corpus liver CT) written by
  highdicom into a temporary folder, read back through both.

Run ``python benchmarks/bench_dicom_seg.py [--repeat N]`` from the repository root
(the corpus is found as the tests find it: ``$DISPLAYSETS_CORPUS`` or
``../shared/corpus``).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def _host() -> Any:
    import displaysets_dicom_seg.plugin as seg_plugin
    from displaysets import PluginHost

    host = PluginHost(autoload=False, allow=(), block=(), handler_order=())
    host.register(seg_plugin, "dicom-seg", distribution="displaysets-dicom-seg")
    return host


def _display_set(path: Path) -> Any:
    from displaysets import scan

    service = scan([path], host=_host())
    (display_set,) = [d for d in service.display_sets if d.plugin == "seg"]
    return display_set


def plugin_masks(display_set: Any) -> list[Any]:
    """Every mask through the plugin, from a display set (the file is read anew)."""
    from displaysets_dicom_seg.content import load_segmentation

    content = load_segmentation(display_set)
    return [mask.array for mask in content.masks()]


def highdicom_by_source(path: Path, uids: list[str]) -> Any:
    import highdicom

    seg = highdicom.seg.segread(path)
    return seg.get_pixels_by_source_instance(uids, ignore_spatial_locations=True)


def highdicom_stored_frames(path: Path) -> Any:
    import highdicom
    import numpy as np

    seg = highdicom.seg.segread(path)
    frames = seg.get_stored_frames()
    return frames.astype(np.float32) / np.float32(seg.MaximumFractionalValue)


def _time(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def compare(
    label: str,
    plugin: Callable[[], Any],
    baseline: Callable[[], Any],
    repeat: int,
) -> float:
    """Interleave both sides ``repeat`` times; print medians and their ratio."""
    plugin()
    baseline()  # warm caches and lazy imports on both sides
    plugin_times: list[float] = []
    baseline_times: list[float] = []
    for _ in range(repeat):
        plugin_times.append(_time(plugin))
        baseline_times.append(_time(baseline))
    ours = statistics.median(plugin_times)
    theirs = statistics.median(baseline_times)
    ratio = ours / theirs
    print(
        f"{label}\n  plugin   median {ours * 1000:8.2f} ms\n"
        f"  highdicom median {theirs * 1000:8.2f} ms\n"
        f"  ratio plugin/highdicom {ratio:.3f} "
        f"(overhead {100 * (ratio - 1):+.1f} %, target <= +10 %)"
    )
    return ratio


def _frames_x_pixels(path: Path) -> int:
    import pydicom

    dataset = pydicom.dcmread(path, stop_before_pixels=True)
    return int(dataset.get("NumberOfFrames", 1)) * dataset.Rows * dataset.Columns


def _synthetic_segmentation(folder: Path, source_ct: Path, segments: int) -> Path:
    """A BINARY SEG written by highdicom on the given CT images."""
    import highdicom
    import numpy as np
    import pydicom

    images = [pydicom.dcmread(p) for p in sorted(source_ct.glob("*.dcm"))]
    for image in images:  # in memory only: highdicom refuses an empty value
        if not image.get("SpecificCharacterSet"):
            image.pop("SpecificCharacterSet", None)
    rows, columns = images[0].Rows, images[0].Columns
    generator = np.random.default_rng(5)
    masks = np.zeros((len(images), rows, columns, segments), dtype=np.uint8)
    for number in range(segments):
        centre = generator.integers(64, rows - 64, size=2)
        radius = int(generator.integers(20, 60))
        yy, xx = np.ogrid[:rows, :columns]
        disc = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2
        masks[:, disc, number] = 1
    category = highdicom.sr.CodedConcept("85756007", "SCT", "Tissue")
    kind = highdicom.sr.CodedConcept("85756007", "SCT", "Tissue")
    descriptions = [
        highdicom.seg.SegmentDescription(
            segment_number=n + 1,
            segment_label=f"region {n + 1}",
            segmented_property_category=category,
            segmented_property_type=kind,
            algorithm_type=highdicom.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for n in range(segments)
    ]
    seg = highdicom.seg.Segmentation(
        source_images=images,
        pixel_array=masks,
        segmentation_type=highdicom.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=highdicom.UID(),
        series_number=90,
        sop_instance_uid=highdicom.UID(),
        instance_number=1,
        manufacturer="displaysets benchmark",
        manufacturer_model_name="bench_dicom_seg",
        software_versions="0",
        device_serial_number="0",
        omit_empty_frames=False,
    )
    target = folder / "synthetic_seg.dcm"
    seg.save_as(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    from displaysets.testing import corpus_dir

    seg_dir = corpus_dir() / "seg"
    files = sorted(seg_dir.glob("*.dcm"), key=_frames_x_pixels, reverse=True)
    largest = files[0]
    print(
        f"largest corpus segmentation: {largest.name} ({_frames_x_pixels(largest)} px)"
    )

    display_set = _display_set(largest)
    compare(
        f"[1] {largest.name}: highdicom segread + get_stored_frames (its mask API "
        "cannot index this file)",
        lambda: plugin_masks(display_set),
        lambda: highdicom_stored_frames(largest),
        args.repeat,
    )

    for candidate in files:
        try:
            import highdicom

            seg = highdicom.seg.segread(candidate)
            uids = [str(u[2]) for u in seg.get_source_image_uids()]
            highdicom_by_source(candidate, uids)
        except Exception:
            continue
        break
    readable = _display_set(candidate)
    planes = [p.source_sop_instance_uid for p in plugin_content(readable).planes]
    compare(
        f"[2] {candidate.name}: highdicom get_pixels_by_source_instance",
        lambda: plugin_masks(readable),
        lambda: highdicom_by_source(candidate, planes),
        args.repeat,
    )

    with tempfile.TemporaryDirectory() as folder:
        synthetic = _synthetic_segmentation(
            Path(folder), seg_dir / "dcmqi_liver_source_ct", segments=10
        )
        made = _display_set(synthetic)
        planes = [p.source_sop_instance_uid for p in plugin_content(made).planes]
        compare(
            "[3] highdicom-written BINARY SEG, 10 segments x 3 slices of 512 x 512: "
            "highdicom get_pixels_by_source_instance",
            lambda: plugin_masks(made),
            lambda: highdicom_by_source(synthetic, planes),
            max(5, args.repeat // 3),
        )


def plugin_content(display_set: Any) -> Any:
    from displaysets_dicom_seg.content import load_segmentation

    return load_segmentation(display_set)


if __name__ == "__main__":
    main()

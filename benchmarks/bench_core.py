"""Benchmark of the core: scan throughput against a plain pydicom loop, and the cost
of building display sets for in-memory studies of growing size.

Run ``python benchmarks/bench_core.py [--files N] [--sizes 1000,10000,100000]``. Files
are synthetic CT slices written with pydicom into a temporary folder; both readers see
the same files in the same run, the page cache warmed once before timing.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
from displaysets.model import Instance
from displaysets.service import DisplaySetService
from displaysets.sources.base import DataSource, Problem, ScanProgress
from displaysets.sources.files import FileSource
from displaysets.testing import isolated_host
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

logger = logging.getLogger(__name__)

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def ct_slice(study: int, series: int, number: int, rows: int = 64) -> Dataset:
    """One synthetic CT slice with the attributes a stack needs."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    uid = f"1.2.826.0.1.3680043.10.1000.{study}.{series}.{number}"
    dataset.file_meta.MediaStorageSOPClassUID = CT_IMAGE
    dataset.file_meta.MediaStorageSOPInstanceUID = uid
    dataset.SOPClassUID = CT_IMAGE
    dataset.SOPInstanceUID = uid
    dataset.StudyInstanceUID = f"1.2.826.0.1.3680043.10.1000.{study}"
    dataset.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.1000.{study}.{series}"
    dataset.Modality = "CT"
    dataset.SeriesNumber = series
    dataset.InstanceNumber = number
    dataset.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    dataset.ImagePositionPatient = [0, 0, number * 1.25]
    dataset.Rows = rows
    dataset.Columns = rows
    dataset.BitsAllocated = 16
    dataset.BitsStored = 12
    dataset.HighBit = 11
    dataset.PixelRepresentation = 0
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.PixelData = b"\x00\x01" * rows * rows
    return dataset


def write_files(folder: Path, count: int, per_series: int = 100) -> list[Path]:
    paths = []
    for index in range(count):
        dataset = ct_slice(1, index // per_series + 1, index % per_series + 1)
        path = folder / f"{index:06d}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


class MemorySource(DataSource):
    """Instances that exist only in memory (for measuring dispatch alone)."""

    def __init__(self, datasets: list[Dataset]) -> None:
        super().__init__()
        self.datasets = datasets

    @property
    def description(self) -> str:
        return f"{len(self.datasets)} in-memory instances"

    def iter_instances(
        self, report: Callable[[Problem], None], progress: ScanProgress | None = None
    ) -> Iterator[Instance]:
        for dataset in self.datasets:
            yield Instance(dataset, "memory", self, {"PixelData": 8192})

    def open_dataset(self, instance: Instance) -> Dataset:
        return instance.dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp), args.files)
        for path in paths:  # warm the page cache for both readers
            path.read_bytes()

        def plain_loop() -> None:
            for path in paths:
                pydicom.dcmread(path)

        def plain_loop_metadata() -> None:
            for path in paths:
                pydicom.dcmread(path, stop_before_pixels=True)

        def pydicom_grouping() -> None:
            """What a user writes without displaysets: read each file's metadata,
            group by series, sort each series along z."""
            series: dict[str, list[tuple[float, str]]] = {}
            for path in paths:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
                key = (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPClassUID)
                z = float(ds.ImagePositionPatient[2])
                series.setdefault(str(key), []).append((z, str(ds.SOPInstanceUID)))
            for members in series.values():
                members.sort()

        def displaysets_scan() -> None:
            service = DisplaySetService(isolated_host())
            service.add_source(FileSource([tmp]))
            assert sum(d.num_instances for d in service.display_sets) == len(paths)

        plain = best_of(args.runs, plain_loop)
        metadata = best_of(args.runs, plain_loop_metadata)
        grouping = best_of(args.runs, pydicom_grouping)
        ours = best_of(args.runs, displaysets_scan)
        n = len(paths)
        rows = [
            ("pydicom.dcmread loop", plain),
            ("pydicom.dcmread(stop_before_pixels) loop", metadata),
            ("pydicom read, group by series, sort by z", grouping),
            ("displaysets scan to display sets", ours),
        ]
        print(f"scan of {n} synthetic CT files (64x64, 100 per series)")
        for label, seconds in rows:
            speed = n / seconds
            print(f"  {label:<42} {speed:7.0f} files/s  {ours / seconds:5.2f}x ours")

    print("\nbuilding display sets for in-memory studies (200 instances per series)")
    print(f"  {'instances':>10} {'seconds':>9} {'us/instance':>12} {'peak MiB':>9}")
    for size in (int(s) for s in args.sizes.split(",")):
        datasets = [ct_slice(1, i // 200 + 1, i % 200 + 1, rows=8) for i in range(size)]
        for dataset in datasets:
            del dataset.PixelData
        samples = []
        for _ in range(args.runs):
            service = DisplaySetService(isolated_host())
            start = time.perf_counter()
            service.add_source(MemorySource(datasets))
            built = service.display_sets
            samples.append(time.perf_counter() - start)
            assert len(built) == (size + 199) // 200
        # memory in a run of its own: tracing slows Python down several times
        service = DisplaySetService(isolated_host())
        tracemalloc.start()
        service.add_source(MemorySource(datasets))
        assert service.display_sets
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        seconds = statistics.median(samples)
        print(
            f"  {size:>10} {seconds:>9.2f} {seconds / size * 1e6:>12.1f} "
            f"{peak / 2**20:>9.1f}"
        )


if __name__ == "__main__":
    main()

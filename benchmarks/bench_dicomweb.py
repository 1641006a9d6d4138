"""Benchmark: display sets of a 500-instance study from a local Orthanc, the DICOMweb
source (one metadata request per series) against a naive client (one per instance).

Run it inside its own network namespace so Orthanc listens on loopback only::

    unshare --net sh -c 'ip link set lo up && exec python benchmarks/bench_dicomweb.py'

It prints HTTP requests and wall time to display sets for both, and their ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def _orthanc_module() -> ModuleType:
    path = ROOT / "tests" / "dicomweb" / "orthanc_server.py"
    spec = importlib.util.spec_from_file_location("bench_orthanc_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_study(folder: Path, count: int) -> list[Path]:
    """A synthetic CT study: one series of ``count`` 16x16 slices."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    paths = []
    for number in range(1, count + 1):
        dataset = Dataset()
        dataset.SOPClassUID = CT_IMAGE
        dataset.SOPInstanceUID = generate_uid()
        dataset.StudyInstanceUID = study
        dataset.SeriesInstanceUID = series
        dataset.FrameOfReferenceUID = frame
        dataset.PatientName = "Bench^Synthetic"
        dataset.PatientID = "BENCH-500"
        dataset.StudyDate = "20240101"
        dataset.Modality = "CT"
        dataset.SeriesNumber = 1
        dataset.InstanceNumber = number
        dataset.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        dataset.ImagePositionPatient = [0.0, 0.0, float(number)]
        dataset.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        dataset.PixelSpacing = [0.5, 0.5]
        dataset.SliceThickness = 1.0
        dataset.Rows = dataset.Columns = 16
        dataset.SamplesPerPixel = 1
        dataset.PhotometricInterpretation = "MONOCHROME2"
        dataset.BitsAllocated = dataset.BitsStored = 16
        dataset.HighBit = 15
        dataset.PixelRepresentation = 0
        dataset.RescaleIntercept = -1024
        dataset.RescaleSlope = 1
        dataset.PixelData = bytes(16 * 16 * 2)
        dataset.file_meta = FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dataset.file_meta.MediaStorageSOPClassUID = UID(CT_IMAGE)
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        path = folder / f"ct{number:04d}.dcm"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def through_source(url: str, authorization: str) -> tuple[int, int, float]:
    """(display sets, HTTP requests, seconds) with the DICOMweb source."""
    from displaysets.plugins import PluginHost
    from displaysets.service import DisplaySetService
    from displaysets.sources.dicomweb import DicomWebSource

    started = time.perf_counter()
    source = DicomWebSource(url, headers={"Authorization": authorization}, retries=0)
    service = DisplaySetService(PluginHost())
    service.add_source(source)
    display_sets = service.display_sets
    return len(display_sets), source.requests_sent, time.perf_counter() - started


def naive(url: str, authorization: str) -> tuple[int, int, float]:
    """(display sets, HTTP requests, seconds) fetching metadata instance by instance,
    with the same session, client, conversion and service as the source."""
    from displaysets.plugins import PluginHost
    from displaysets.service import DisplaySetService
    from displaysets.sources.dicomweb import DicomWebSource

    started = time.perf_counter()
    source = DicomWebSource(url, headers={"Authorization": authorization}, retries=0)
    client = source._dicomweb()
    service = DisplaySetService(PluginHost())
    for study in client.search_for_studies():
        study_uid = study["0020000D"]["Value"][0]
        for series in client.search_for_series(study_uid):
            series_uid = series["0020000E"]["Value"][0]
            for found in client.search_for_instances(study_uid, series_uid):
                sop = found["00080018"]["Value"][0]
                obj = client.retrieve_instance_metadata(study_uid, series_uid, sop)
                instance = source._instance(obj, study_uid, series_uid, sop, print)
                if instance is not None:
                    service.add_instance(instance)
    display_sets = service.display_sets
    return len(display_sets), source.requests_sent, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    orthanc = _orthanc_module()
    reason = orthanc.missing_reason()
    if reason:
        print(f"skipped: {reason}")
        return 0
    if not orthanc.only_loopback_network():
        print("note: not in a network namespace; Orthanc listens on all interfaces")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "files").mkdir()
        (folder / "orthanc").mkdir()
        paths = write_study(folder / "files", args.instances)
        server = orthanc.OrthancServer(folder / "orthanc")
        server.start()
        try:
            for path in paths:
                if not server.upload(path).stored:
                    raise RuntimeError(f"Orthanc refused {path}")
            results: dict[str, list[tuple[int, int, float]]] = {
                "source": [],
                "naive": [],
            }
            for _ in range(args.repeats):
                results["source"].append(
                    through_source(server.dicomweb_url, server.authorization)
                )
                results["naive"].append(
                    naive(server.dicomweb_url, server.authorization)
                )
        finally:
            server.stop()

    summary: dict[str, tuple[int, int, float]] = {}
    for name, runs in results.items():
        counts = {(sets, requests) for sets, requests, _ in runs}
        assert len(counts) == 1, f"{name}: runs disagree: {counts}"
        sets, requests = counts.pop()
        summary[name] = (sets, requests, statistics.median(t for *_, t in runs))
    print(
        f"{args.instances} instances, one series, local Orthanc; "
        f"median of {args.repeats} runs"
    )
    print(f"{'client':<28}{'display sets':>14}{'HTTP requests':>16}{'seconds':>10}")
    labels = {
        "source": "DicomWebSource (per series)",
        "naive": "naive (per instance)",
    }
    for name, (sets, requests, seconds) in summary.items():
        print(f"{labels[name]:<28}{sets:>14}{requests:>16}{seconds:>10.3f}")
    ours, theirs = summary["source"], summary["naive"]
    assert ours[0] == theirs[0], "both clients must give the same display sets"
    print(
        f"naive / source: {theirs[1] / ours[1]:.1f}x the requests, "
        f"{theirs[2] / ours[2]:.1f}x the wall time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

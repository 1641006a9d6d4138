"""Benchmark: extract a large encapsulated PDF with displaysets-dicom-pdf and dcm2pdf.

A PDF of about 50 MB (odd length, so DICOM pads it) is written and wrapped with DCMTK's
``pdf2dcm`` into a temporary folder; then ``displaysets export`` and ``dcm2pdf`` each
extract it several times, alternately, as separate processes. Wall time and peak
resident memory (``ru_maxrss`` of each child) are compared, and every output is checked
byte for byte against the original PDF.

Run: ``python benchmarks/bench_dicom_pdf.py [--size-mb 50] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

GNU_TIME: Final = "/usr/bin/time"


def write_large_pdf(path: Path, size: int) -> bytes:
    """Write a valid one-page PDF of about ``size`` bytes (odd) and return its bytes.

    The bulk is an uncompressed stream of pseudo-random bytes attached to the page as
    an unused XObject, so PDF readers still parse the file.
    """
    import random

    bulk = random.Random(1).randbytes(size)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Bulk 5 0 R >> >> /Contents 4 0 R >>",
    ]
    text = b"BT /F1 12 Tf 72 720 Td (benchmark) Tj ET"
    streams = [
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 1 1] /Length %d >>\nstream\n"
        % len(bulk)
        + bulk
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate([*objects, *streams], 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(offsets) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    if len(out) % 2 == 0:
        out[-1:] = b"\r\n"  # end with CR LF to make the length odd
    path.write_bytes(out)
    return bytes(out)


@dataclass
class Run:
    """One process: its wall time and peak resident memory."""

    seconds: float
    max_rss_bytes: int


def run_measured(command: list[str], work: Path) -> Run:
    """Run ``command`` under GNU time and return its wall time and peak memory.

    GNU time is a small fresh process, so the peak resident set it reports for its
    child is the child's own; a child forked straight from this (large) process would
    report this process's size as its floor.
    """
    report = work / "time.txt"
    start = time.perf_counter()
    subprocess.run(
        [GNU_TIME, "-f", "%M", "-o", str(report), *command],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    kib = int(report.read_text().split()[-1])
    return Run(seconds, kib * 1024)


def child_export(dicom_file: Path, output: Path) -> None:
    """In a fresh process: import, then time only scanning and exporting."""
    # The core and the plugin import pydicom on first use; import it before timing.
    import displaysets.sources.files  # noqa: F401
    import displaysets_dicom_pdf.content  # noqa: F401
    import displaysets_dicom_pdf.plugin as plugin
    import pydicom  # noqa: F401
    from displaysets import PluginHost, scan

    start = time.perf_counter()
    host = PluginHost(autoload=False)
    host.register(plugin, "dicom-pdf", distribution="displaysets-dicom-pdf")
    service = scan([dicom_file], host=host)
    (display_set,) = service.display_sets
    service.export(display_set, output, overwrite=True)
    print(f"{time.perf_counter() - start:.6f}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def display_set_uid(dicom_file: Path) -> str:
    import displaysets_dicom_pdf.plugin as plugin
    from displaysets import PluginHost, scan

    host = PluginHost(autoload=False)
    host.register(plugin, "dicom-pdf", distribution="displaysets-dicom-pdf")
    (display_set,) = scan([dicom_file], host=host).display_sets
    return display_set.display_set_instance_uid


def summarise(name: str, runs: list[Run], size: int) -> tuple[float, int]:
    seconds = statistics.median(r.seconds for r in runs)
    peak = max(r.max_rss_bytes for r in runs)
    print(
        f"{name:<28} median {seconds * 1000:8.1f} ms  (min "
        f"{min(r.seconds for r in runs) * 1000:7.1f})  peak RSS "
        f"{peak / 2**20:7.1f} MiB = {peak / size:4.2f} x document"
    )
    return seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child-export", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        child_export(*args.child_export)
        return 0
    if not os.access(GNU_TIME, os.X_OK):
        print(f"{GNU_TIME} (Debian package time) is needed to measure peak memory")
        return 2
    pdf2dcm, dcm2pdf = shutil.which("pdf2dcm"), shutil.which("dcm2pdf")
    if pdf2dcm is None or dcm2pdf is None:
        print("DCMTK pdf2dcm and dcm2pdf are needed (Debian package dcmtk)")
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-dicom-pdf-") as folder:
        work = Path(folder)
        source = work / "large.pdf"
        original = write_large_pdf(source, int(args.size_mb * 2**20))
        size = len(original)
        expected = hashlib.sha256(original).hexdigest()
        del original
        dicom_file = work / "large.dcm"
        subprocess.run([pdf2dcm, str(source), str(dicom_file)], check=True)
        uid = display_set_uid(dicom_file)
        print(
            f"document: {size} bytes ({size / 2**20:.1f} MiB, odd length); "
            f"DICOM file {dicom_file.stat().st_size} bytes, made by pdf2dcm"
        )

        ours_out, dcmtk_out = work / "ours.pdf", work / "dcmtk.pdf"
        commands = {
            "displaysets export (CLI)": [
                sys.executable,
                "-m",
                "displaysets",
                "export",
                str(dicom_file),
                "--display-set",
                uid,
                "-o",
                str(ours_out),
                "--overwrite",
                "-q",
            ],
            "dcm2pdf": [dcm2pdf, str(dicom_file), str(dcmtk_out)],
        }
        outputs = {"displaysets export (CLI)": ours_out, "dcm2pdf": dcmtk_out}
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for command in commands.values():  # warm the page cache and imports
            run_measured(command, work)
        in_process: list[float] = []
        for _ in range(args.repeat):
            for name, command in commands.items():
                outputs[name].unlink(missing_ok=True)
                runs[name].append(run_measured(command, work))
                if sha256(outputs[name]) != expected:
                    raise RuntimeError(f"{name} did not write the original PDF")
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child-export",
                    str(dicom_file),
                    str(ours_out),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            in_process.append(float(child.stdout.split()[-1]))

        print(f"{args.repeat} runs each, alternating; outputs equal the original PDF")
        ours_time, ours_peak = summarise(
            "displaysets export (CLI)", runs["displaysets export (CLI)"], size
        )
        dcmtk_time, dcmtk_peak = summarise("dcm2pdf", runs["dcm2pdf"], size)
        print(
            f"time ratio (displaysets / dcm2pdf): {ours_time / dcmtk_time:.2f}; "
            f"peak memory ratio: {ours_peak / dcmtk_peak:.2f}; displaysets peak is "
            f"{ours_peak / size:.2f} x the document size (target <= 2)"
        )
        scan_export = statistics.median(in_process)
        print(
            f"scan + export inside one process, imports done: median "
            f"{scan_export * 1000:.1f} ms = {scan_export / dcmtk_time:.2f} x dcm2pdf's "
            "whole run"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Render the large TID 1500 report with this plugin and with DCMTK ``dsr2html``.

Each run is a whole process (interpreter start, imports, reading, rendering, writing
the HTML), alternating the two tools so machine load hits both alike. Prints the
median and best wall time of each and the ratio plugin / dsr2html.

Usage: ``python benchmarks/bench_dicom_html.py [--runs N] [REPORT.dcm]``; the default
report is ``toolmade/sr/highdicom_tid1500_measurement_report_2000_groups.dcm`` of the
corpus (``$DISPLAYSETS_CORPUS`` or ``../shared/corpus``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_REPORT = Path(
    "toolmade", "sr", "highdicom_tid1500_measurement_report_2000_groups.dcm"
)


def corpus() -> Path:
    configured = os.environ.get("DISPLAYSETS_CORPUS")
    return Path(configured) if configured else Path.cwd().parent / "shared" / "corpus"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "report", nargs="?", type=Path, default=corpus() / DEFAULT_REPORT
    )
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    dsr2html = shutil.which("dsr2html")
    if dsr2html is None:
        print("dsr2html (Debian package dcmtk) is not installed", file=sys.stderr)
        return 2
    if not args.report.is_file():
        print(f"{args.report}: no such file", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as folder:
        ours_out = str(Path(folder, "ours.html"))
        theirs_out = str(Path(folder, "dsr2html.html"))
        ours_cmd = [
            sys.executable,
            "-m",
            "displaysets_dicom_html",
            str(args.report),
            ours_out,
        ]
        theirs_cmd = [dsr2html, "-q", str(args.report), theirs_out]
        timed(ours_cmd)  # warm the file cache for both
        timed(theirs_cmd)
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(timed(ours_cmd))
            theirs.append(timed(theirs_cmd))
        sizes = (Path(ours_out).stat().st_size, Path(theirs_out).stat().st_size)

    print(f"report: {args.report} ({args.report.stat().st_size / 1e6:.1f} MB)")
    print(f"runs: {args.runs} each, whole process, alternating")
    for name, times, size in (
        ("displaysets-dicom-html", ours, sizes[0]),
        ("dsr2html", theirs, sizes[1]),
    ):
        print(
            f"{name:24} median {statistics.median(times):.3f} s  "
            f"best {min(times):.3f} s  output {size / 1e6:.1f} MB"
        )
    ratio = statistics.median(ours) / statistics.median(theirs)
    best_ratio = min(ours) / min(theirs)
    print(
        f"ratio plugin / dsr2html: median {ratio:.2f}, best {best_ratio:.2f} "
        f"(target: at most 1.00)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

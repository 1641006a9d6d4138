"""Render SR files to HTML from the command line, as ``dsr2html`` does.

``python -m displaysets_dicom_html REPORT.dcm [OUT.html]`` scans the file with this
plugin alone and writes the HTML page of each document in it (standard output when no
output file is given).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``displaysets-sr2html``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="displaysets-sr2html", description="Render a DICOM SR file as HTML."
    )
    parser.add_argument("report", help="DICOM SR file")
    parser.add_argument("output", nargs="?", help="HTML file (default: stdout)")
    args = parser.parse_args(argv)

    from displaysets import PluginHost, scan

    from displaysets_dicom_html import plugin
    from displaysets_dicom_html.report import StructuredReport

    host = PluginHost(autoload=False)
    host.register(plugin, "dicom-html", distribution="displaysets-dicom-html")
    service = scan([args.report], host=host)
    reports = [d for d in service.display_sets if d.plugin == plugin.VIEWPORT]
    for problem in service.problems:
        print(f"{problem}", file=sys.stderr)
    if not reports:
        print(f"{args.report}: no structured report found", file=sys.stderr)
        return 1
    pages = [StructuredReport(d).html for d in reports]
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write("".join(pages))
    else:
        sys.stdout.write("".join(pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``displaysets`` command: scan, list plugins, export content.

Exit codes: 0 when everything was read, 1 when some input could not be read (what was
found is still printed), 2 for usage errors (including an export that would overwrite
without ``--overwrite`` or write into the scanned input).
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from displaysets.errors import DestinationExists, DisplaySetsError, ExportError
from displaysets.plugins import PluginHost
from displaysets.records import DisplaySet, Severity, display_sets_to_json
from displaysets.service import DisplaySetService
from displaysets.sources.base import DataSource
from displaysets.uids import sop_class_name

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_INPUT_PROBLEMS = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A command line that cannot be carried out as written."""


# -- argument parsing ------------------------------------------------------------------


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only errors")
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail (-vv: debug)"
    )
    common.add_argument(
        "--plugins",
        type=_names,
        metavar="NAMES",
        help="load only these plugins (comma-separated; built-ins always load); "
        "default from $DISPLAYSETS_PLUGINS",
    )
    common.add_argument(
        "--block-plugins",
        type=_names,
        metavar="NAMES",
        help="never load these plugins; default from $DISPLAYSETS_BLOCK_PLUGINS",
    )
    common.add_argument(
        "--handler-order",
        type=_names,
        metavar="IDS",
        help="handler ids offered first, in this order; "
        "default from $DISPLAYSETS_HANDLER_ORDER",
    )

    parser = argparse.ArgumentParser(
        prog="displaysets",
        description="Turn DICOM studies into display sets.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    source = argparse.ArgumentParser(add_help=False)
    source.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="DICOM files, folders, DICOMDIRs, DICOM JSON files or a DICOMweb URL",
    )
    source.add_argument(
        "--study",
        action="append",
        default=[],
        metavar="UID",
        help="DICOMweb: only this study (repeatable)",
    )
    source.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="DICOMweb: an HTTP header sent with every request (repeatable)",
    )
    source.add_argument(
        "--header-from-env",
        action="append",
        default=[],
        metavar="VAR",
        help="DICOMweb: read a 'Name: value' header from this environment variable",
    )

    scan = commands.add_parser(
        "scan", parents=[common, source], help="scan a study and print its display sets"
    )
    scan.add_argument("--json", action="store_true", help="print the records as JSON")
    scan.add_argument(
        "--explain", action="store_true", help="show each handler's verdict per series"
    )

    plugins = commands.add_parser(
        "plugins", parents=[common], help="list installed plugins and conflicts"
    )
    plugins.add_argument("--json", action="store_true", help="print as JSON")

    export = commands.add_parser(
        "export", parents=[common, source], help="write a display set's content"
    )
    export.add_argument(
        "--display-set", required=True, metavar="UID", help="displaySetInstanceUID"
    )
    export.add_argument(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="FILE",
        help="where to write: a file, or a folder (image stacks always write one)",
    )
    export.add_argument(
        "--overwrite", action="store_true", help="replace an existing file"
    )
    export.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for the plugin's exporter, e.g. level=2 (repeatable)",
    )
    return parser


def configure_logging(quiet: bool, verbose: int) -> None:
    level = (
        logging.ERROR
        if quiet
        else (
            logging.DEBUG
            if verbose > 1
            else logging.INFO
            if verbose
            else logging.WARNING
        )
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:
        # pydicom resets its own logger's level when it is imported (lazily, after
        # this), so its chatter is filtered at the handler instead.
        for handler in logging.getLogger().handlers:
            handler.addFilter(_quiet_pydicom)
    logging.captureWarnings(True)
    if not verbose:
        # problems met while reading are printed by the command itself
        logging.getLogger("displaysets.service").setLevel(logging.ERROR)
    if verbose < 2:
        # pydicom warns about every non-conformant value it meets; real archives are
        # full of them and they are not what a user scans for.
        warnings.filterwarnings("ignore", module="pydicom")
        logging.getLogger("pydicom").setLevel(logging.ERROR)


def _quiet_pydicom(record: logging.LogRecord) -> bool:
    return not (record.name.startswith("pydicom") and record.levelno < logging.ERROR)


def make_host(args: argparse.Namespace) -> PluginHost:
    host = PluginHost(
        allow=args.plugins, block=args.block_plugins, handler_order=args.handler_order
    )
    known = {r.name for r in host.records} | {r.distribution for r in host.records}
    for name in (*host.allow, *host.block):
        if name not in known:
            logger.warning("no installed plugin or distribution is named %r", name)
    handler_ids = {h.module.id for h in host.handlers}
    for handler_id in host.handler_order:
        if handler_id not in handler_ids:
            logger.warning("--handler-order: no handler has the id %r", handler_id)
    return host


_CONTROL = dict.fromkeys([*range(0x00, 0x20), 0x7F], None)


def printable(text: str) -> str:
    """``text`` with control characters (newlines, escapes) shown as escapes, so a
    file name cannot break a line or drive the terminal."""
    if not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return text
    return "".join(
        c if ord(c) >= 0x20 and ord(c) != 0x7F else repr(c)[1:-1] for c in text
    )


# -- sources ---------------------------------------------------------------------------


def parse_headers(args: argparse.Namespace) -> dict[str, str]:
    """Headers from ``--header`` and ``--header-from-env``; values never logged."""
    lines = list(args.header)
    for variable in args.header_from_env:
        value = os.environ.get(variable)
        if value is None:
            raise UsageError(
                f"--header-from-env: environment variable {variable} is not set"
            )
        lines.append(value)
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise UsageError(
                "a header must read 'Name: value' (its value is not shown)"
            )
        headers[name.strip()] = value.strip()
    return headers


def make_sources(args: argparse.Namespace) -> list[DataSource]:
    from displaysets.sources.files import sources_for_paths

    urls = [p for p in args.paths if p.startswith(("http://", "https://"))]
    local = [p for p in args.paths if p not in urls]
    if (args.header or args.header_from_env or args.study) and not urls:
        raise UsageError("--study and --header apply to a DICOMweb URL only")
    missing = [p for p in local if not os.path.exists(p)]
    if missing and not (len(missing) < len(local)):
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    sources: list[DataSource] = []
    if urls:
        try:
            from displaysets.sources.dicomweb import DicomWebSource
        except ImportError as error:
            raise UsageError(
                "DICOMweb needs the dicomweb extra: "
                "pip install 'displaysets[dicomweb]' "
                f"({error})"
            ) from error
        headers = parse_headers(args)
        for url in urls:
            sources.append(
                DicomWebSource(url, headers=headers, study_instance_uids=args.study)
            )
    sources.extend(sources_for_paths(local))
    return sources


class Progress:
    """A one-line progress counter on stderr, shown only on a terminal."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        text = f"scanning: {done}/{total} files" if total else f"scanning: {done}"
        self.stream.write("\r" + text)
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def run_scan_sources(args: argparse.Namespace, host: PluginHost) -> DisplaySetService:
    service = DisplaySetService(host)
    progress = Progress(sys.stderr, not args.quiet)
    try:
        for source in make_sources(args):
            service.add_source(source, progress)
    finally:
        progress.close()
    return service


# -- output ----------------------------------------------------------------------------


def _shorten(text: str, width: int) -> str:
    """``text`` made printable and cut to ``width`` characters."""
    text = printable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(service: DisplaySetService, out: TextIO, verbose: int) -> None:
    display_sets = service.display_sets
    study = None
    for display_set in display_sets:
        if display_set.study_instance_uid != study:
            study = display_set.study_instance_uid
            first = service.studies.get(study)
            patient = first.patient_name if first else ""
            out.write(
                f"\nStudy {printable(study)}"
                + (f"  ({printable(patient)})" if patient and verbose else "")
                + "\n"
            )
            out.write(
                f"  {'plugin':<12} {'Mod':<8} {'inst':>5} {'frames':>6}  "
                f"{'SOP class':<40} {'series':<24} displaySetInstanceUID\n"
            )
        series = display_set.series_description or (
            f"#{display_set.series_number}"
            if display_set.series_number is not None
            else ""
        )
        out.write(
            f"  {_shorten(display_set.plugin, 12):<12} "
            f"{_shorten(display_set.modality, 8):<8} "
            f"{display_set.num_instances:>5} {display_set.num_frames:>6}  "
            f"{_shorten(display_set.sop_class_name, 40):<40} "
            f"{_shorten(series, 24):<24} "
            f"{printable(display_set.display_set_instance_uid)}\n"
        )
        for message in display_set.messages:
            if message.severity is Severity.INFO and not verbose:
                continue
            out.write(
                f"      {message.severity.value}: {message.code}: "
                f"{printable(message.text)}\n"
            )


def print_explain(service: DisplaySetService, out: TextIO) -> None:
    out.write("\nDispatch, per series and SOP class:\n")
    for group in service.explain():
        out.write(
            f"  series {group.series_instance_uid}: {group.num_instances} x "
            f"{sop_class_name(group.sop_class_uid)} ({group.sop_class_uid or 'none'})\n"
        )
        for verdict in group.verdicts:
            out.write(f"    {printable(str(verdict))}\n")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def print_summary(service: DisplaySetService, out: TextIO) -> None:
    display_sets = service.display_sets
    files = sum(s.files_seen for s in service.sources)
    skipped = sum(s.non_dicom_skipped for s in service.sources)
    errors = [p for p in service.problems if p.severity is Severity.ERROR]
    cut_short = [p for p in errors if p.code == "TRUNCATED"]
    out.write(
        f"\n{_count(len(display_sets), 'display set')} from "
        f"{_count(len(service.instances), 'instance')} "
        f"({_count(files, 'input')} read, {skipped} non-DICOM skipped, "
        f"{service.identical_copies} identical copies counted once, "
        f"{len(cut_short)} cut short, {len(errors) - len(cut_short)} unreadable)\n"
    )


def print_problems(service: DisplaySetService, err: TextIO, quiet: bool) -> None:
    for problem in service.problems:
        if quiet and problem.severity is not Severity.ERROR:
            continue
        err.write(f"{problem.severity.value}: {printable(str(problem))}\n")


def exit_code(service: DisplaySetService) -> int:
    unreadable = any(p.severity is Severity.ERROR for p in service.problems)
    return EXIT_INPUT_PROBLEMS if unreadable else EXIT_OK


# -- commands --------------------------------------------------------------------------


def command_scan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    service = run_scan_sources(args, make_host(args))
    if args.json:
        document = display_sets_to_json(
            service.display_sets, [p.to_json() for p in service.problems]
        )
        if args.explain:
            document["explain"] = [g.to_json() for g in service.explain()]
        json.dump(document, out, indent=2)
        out.write("\n")
    else:
        print_table(service, out, args.verbose)
        if args.explain:
            print_explain(service, out)
        if not args.quiet:
            print_summary(service, out)
        print_problems(service, err, args.quiet)
    return exit_code(service)


def command_plugins(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    host = make_host(args)
    if args.json:
        document = {
            "plugins": [r.to_json() for r in host.records],
            "handlers": [
                {
                    "id": h.module.id,
                    "plugin": h.plugin,
                    "viewport": h.module.viewport,
                    "priority": h.module.priority,
                    "sopClasses": [
                        {"uid": u, "name": sop_class_name(u) if u != "*" else "any"}
                        for u in h.module.sop_class_uids
                    ],
                }
                for h in host.handlers
            ],
            "conflicts": [
                {
                    "SOPClassUID": c.sop_class_uid,
                    "handlers": list(c.handler_ids),
                    "winner": c.winner,
                }
                for c in host.conflicts
            ],
        }
        json.dump(document, out, indent=2)
        out.write("\n")
        return EXIT_OK
    for record in host.records:
        origin = (
            f"{record.distribution} {record.version}".strip() or "(no distribution)"
        )
        kind = ", built-in" if record.builtin else ""
        out.write(f"{record.name}  [{origin}{kind}]  {record.status}\n")
        for error in record.errors:
            out.write(f"    error: {error}\n")
        for handler_id in record.handler_ids:
            registered = host.handler(handler_id)
            if registered is None:
                continue
            module = registered.module
            uids = [u for u in module.sop_class_uids if u != "*"]
            out.write(
                f"    handler {module.id}  viewport={module.viewport}  "
                f"priority={module.priority}\n"
            )
            if not uids:
                out.write("      SOP classes: any not claimed by another handler\n")
            elif len(uids) > 8 and not args.verbose:
                out.write(f"      SOP classes: {len(uids)} (use -v to list them)\n")
            else:
                for uid in uids:
                    out.write(f"      {sop_class_name(uid)} ({uid})\n")
    conflicts = host.conflicts
    if conflicts:
        out.write("\nConflicts (the first handler wins):\n")
        for conflict in conflicts:
            out.write(
                f"  {sop_class_name(conflict.sop_class_uid)} "
                f"({conflict.sop_class_uid}): {', '.join(conflict.handler_ids)}\n"
            )
    return EXIT_OK


def command_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Export one display set. Problems elsewhere in the scanned input are not this
    command's business: they show with -v, and the exit code says whether the export
    was written."""
    if not args.verbose:
        logging.getLogger().setLevel(logging.CRITICAL)
    service = run_scan_sources(args, make_host(args))
    try:
        display_set: DisplaySet = service.get(args.display_set)
    except KeyError:
        print_problems(service, err, args.quiet)
        raise UsageError(
            f"no display set {args.display_set} in the scanned input "
            "(see 'displaysets scan')"
        ) from None
    options: dict[str, str] = {}
    for option in args.option:
        key, sep, value = option.partition("=")
        if not sep or not key.strip().isidentifier():
            raise UsageError(f"--option must read KEY=VALUE, got {option!r}")
        options[key.strip()] = value
    handler = service.handler_of(display_set)
    if options and handler is not None and handler.export is not None:
        try:
            inspect.signature(handler.export).bind(
                display_set, args.output, args.overwrite, **options
            )
        except TypeError as error:
            raise UsageError(
                f"the {display_set.plugin} exporter does not take these options: "
                f"{error}"
            ) from None
    written = service.export(
        display_set, args.output, overwrite=args.overwrite, **options
    )
    for message in display_set.messages:
        if message.severity is Severity.ERROR:
            err.write(f"warning: {message.code}: {printable(message.text)}\n")
    if not args.quiet:
        for path in written:
            out.write(f"wrote {printable(str(path))}\n")
    return EXIT_OK


COMMANDS = {"scan": command_scan, "plugins": command_plugins, "export": command_export}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.quiet, args.verbose)
    out, err = sys.stdout, sys.stderr
    try:
        return COMMANDS[args.command](args, out, err)
    except DestinationExists as error:
        err.write(
            f"displaysets: error: {printable(str(error.path))} exists; "
            "add --overwrite to replace it\n"
        )
        return EXIT_USAGE
    except (UsageError, ExportError) as error:
        # refusing to overwrite or to write into the input is the user's call to make
        err.write(f"displaysets: error: {printable(str(error))}\n")
        return EXIT_USAGE
    except DisplaySetsError as error:
        err.write(f"displaysets: error: {printable(str(error))}\n")
        return EXIT_INPUT_PROBLEMS
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())

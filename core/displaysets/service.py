"""The display set service: groups instances, dispatches them to handlers, explains.

Instances are grouped by study and series and each series is split by SOP Class UID.
Each group is offered to the handlers that declare its SOP class, in the plugin host's
order; a handler may claim part of a group and decline the rest, which goes on to the
next handler and finally to the unsupported fallback, so every instance lands in exactly
one display set. A handler that raises yields an error display set for its group; the
other groups proceed. References between display sets are resolved in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from displaysets.errors import (
    ContentError,
    DisplaySetsError,
    ExportError,
    HandlerContractError,
)
from displaysets.handlers import Claim, Decline, HandlerModule, Offer
from displaysets.model import Instance, Series, Study
from displaysets.plugins import PluginHost, RegisteredHandler
from displaysets.records import DisplaySet, Severity
from displaysets.resolver import ReferenceResolver
from displaysets.sources.base import DataSource, Problem, ScanProgress
from displaysets.uids import describe_sop_class

logger = logging.getLogger(__name__)

ERROR_VIEWPORT: Final = "error"
"""Viewport key of display sets that stand for a failure (handler error, conflict)."""
ERROR_HANDLER_ID: Final = "displaysets.error"


@dataclass
class Verdict:
    """One handler's answer to one offer, for ``explain``."""

    handler_id: str
    plugin: str
    offered: int
    claimed: int = 0
    declined: list[Decline] = field(default_factory=list)
    error: str = ""

    @property
    def outcome(self) -> str:
        if self.error:
            return "raised"
        if self.claimed == self.offered:
            return "claimed"
        return "partly claimed" if self.claimed else "declined"

    def to_json(self) -> dict[str, Any]:
        return {
            "handler": self.handler_id,
            "plugin": self.plugin,
            "outcome": self.outcome,
            "offered": self.offered,
            "claimed": self.claimed,
            "declined": [
                {"count": len(d.sop_instance_uids), "reason": d.reason}
                for d in self.declined
            ],
            "error": self.error,
        }

    def __str__(self) -> str:
        if self.error:
            return f"{self.handler_id}: raised {self.error}"
        text = f"{self.handler_id}: claimed {self.claimed} of {self.offered}"
        for decline in self.declined:
            text += f"; declined {len(decline.sop_instance_uids)} ({decline.reason})"
        return text


@dataclass
class GroupExplanation:
    """How the instances of one SOP class in one series were dispatched."""

    study_instance_uid: str
    series_instance_uid: str
    sop_class_uid: str
    num_instances: int
    verdicts: list[Verdict] = field(default_factory=list)
    display_set_instance_uids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "StudyInstanceUID": self.study_instance_uid,
            "SeriesInstanceUID": self.series_instance_uid,
            "SOPClassUID": self.sop_class_uid,
            "SOPClass": describe_sop_class(self.sop_class_uid),
            "numInstances": self.num_instances,
            "verdicts": [v.to_json() for v in self.verdicts],
            "displaySetInstanceUIDs": list(self.display_set_instance_uids),
        }


def _sort_key(instance: Instance) -> tuple[int, int, str, str]:
    number = instance.instance_number
    return (number is None, number or 0, instance.sop_instance_uid, instance.location)


class DisplaySetService:
    """Turns instances into display sets, incrementally.

    Parameters
    ----------
    host
        The plugin host whose handlers are used; by default one that discovers every
        installed plugin.
    """

    def __init__(self, host: PluginHost | None = None) -> None:
        self.host = host if host is not None else PluginHost()
        self.studies: dict[str, Study] = {}
        self.problems: list[Problem] = []
        self.sources: list[DataSource] = []
        self._copies: dict[str, list[Instance]] = {}
        """SOP Instance UID -> the instances with that UID and distinct content."""
        self._dirty: dict[tuple[str, str], Series] = {}
        self._series_results: dict[
            tuple[str, str], tuple[list[DisplaySet], list[GroupExplanation]]
        ] = {}
        self._resolved = False
        self.identical_copies = 0

    # -- input ---------------------------------------------------------------------

    def report(self, problem: Problem) -> None:
        """Record a problem met while reading input, and log it."""
        self.problems.append(problem)
        log = logger.warning if problem.severity is Severity.ERROR else logger.info
        log("%s", problem)

    def add_source(
        self, source: DataSource, progress: ScanProgress | None = None
    ) -> None:
        """Read every instance of ``source``; problems go to :attr:`problems`."""
        self.sources.append(source)
        try:
            for instance in source.iter_instances(self.report, progress):
                self.add_instance(instance)
        except Exception as error:  # a source failing half-way keeps what it read
            logger.error(
                "reading %s failed: %s",
                source.description,
                error,
                exc_info=logger.isEnabledFor(logging.DEBUG),
            )
            self.report(
                Problem(source.description, "SOURCE_FAILED", Severity.ERROR, str(error))
            )

    def add_instances(self, instances: Iterable[Instance]) -> None:
        for instance in instances:
            self.add_instance(instance)

    def add_instance(self, instance: Instance) -> None:
        """Add one instance; its series is dispatched again when next asked."""
        uid = instance.sop_instance_uid
        copies = self._copies.setdefault(uid, [])
        for known in copies:
            if self._same_content(known, instance):
                self.identical_copies += 1
                logger.info(
                    "%s: identical copy of %s (SOP Instance UID %s), counted once",
                    instance.location,
                    known.location,
                    uid,
                )
                return
        if copies:
            self.report(
                Problem(
                    instance.location,
                    "DUPLICATE_SOP_INSTANCE_UID",
                    Severity.WARNING,
                    f"SOP Instance UID {uid} is also used by {copies[0].location} "
                    "with different content; both are kept, each in its own "
                    "display set",
                )
            )
            for known in copies:  # their display set UIDs now carry a salt too
                self._mark_dirty(known)
        copies.append(instance)
        study = self.studies.get(instance.study_instance_uid)
        if study is None:
            study = Study(instance.study_instance_uid)
            self.studies[study.study_instance_uid] = study
        series = study.get_series(instance.series_instance_uid)
        series.instances.append(instance)
        self._mark_dirty(instance)

    def _mark_dirty(self, instance: Instance) -> None:
        """Have the instance's series dispatched again when display sets are asked."""
        study = self.studies.get(instance.study_instance_uid)
        series = study.series.get(instance.series_instance_uid) if study else None
        if series is not None:
            self._dirty[(instance.study_instance_uid, series.series_instance_uid)] = (
                series
            )
        self._resolved = False

    @staticmethod
    def _same_content(first: Instance, second: Instance) -> bool:
        try:
            if type(first.source) is type(second.source):
                return first.source.fingerprint(first) == second.source.fingerprint(
                    second
                )
            from displaysets.sources.base import DataSource as Base

            return Base.fingerprint(first.source, first) == Base.fingerprint(
                second.source, second
            )
        except OSError:
            return False

    # -- dispatch ------------------------------------------------------------------

    def _conflict_of(self, instance: Instance) -> bool:
        return len(self._copies.get(instance.sop_instance_uid, ())) > 1

    def _dispatch_series(
        self, study: Study, series: Series
    ) -> tuple[list[DisplaySet], list[GroupExplanation]]:
        groups: dict[tuple[str, str], list[Instance]] = {}
        for instance in series.instances:
            salt = ""
            if self._conflict_of(instance):
                # Every copy of a SOP Instance UID with conflicting content is
                # dispatched on its own, its display set UIDs salted with its content
                # so they stay distinct whatever order the copies were read in.
                salt = instance.source.fingerprint(instance)
            groups.setdefault((instance.sop_class_uid, salt), []).append(instance)
        display_sets: list[DisplaySet] = []
        explanations: list[GroupExplanation] = []
        for sop_class_uid, salt in sorted(groups):
            instances = sorted(groups[(sop_class_uid, salt)], key=_sort_key)
            made, explanation = self._dispatch_group(
                study, series, sop_class_uid, instances, salt
            )
            if salt:
                for display_set in made:
                    self._mark_duplicates(display_set)
            display_sets.extend(made)
            explanations.append(explanation)
        return display_sets, explanations

    def _mark_duplicates(self, display_set: DisplaySet) -> None:
        for instance in display_set.instances:
            others = [
                c.location
                for c in self._copies.get(instance.sop_instance_uid, ())
                if c is not instance
            ]
            if others:
                display_set.add_message(
                    "DUPLICATE_SOP_INSTANCE_UID",
                    Severity.WARNING,
                    f"{instance.location} has SOP Instance UID "
                    f"{instance.sop_instance_uid}, as {', '.join(others)} does, with "
                    "different content; each copy has its own display set",
                )

    def _dispatch_group(
        self,
        study: Study,
        series: Series,
        sop_class_uid: str,
        instances: list[Instance],
        salt: str = "",
    ) -> tuple[list[DisplaySet], GroupExplanation]:
        explanation = GroupExplanation(
            study.study_instance_uid,
            series.series_instance_uid,
            sop_class_uid,
            len(instances),
        )
        made: list[DisplaySet] = []
        remaining = list(instances)
        declined_by: list[tuple[str, str]] = []
        for registered in self.host.handlers_for(sop_class_uid):
            if not remaining:
                break
            offered = self._complete_metadata(registered.module, remaining)
            offer = Offer(
                registered.module,
                sop_class_uid,
                offered,
                series,
                study,
                offered[0].source,
                self.host.install_hints,
                salt,
                tuple(declined_by),
            )
            verdict = Verdict(registered.module.id, registered.plugin, len(offered))
            explanation.verdicts.append(verdict)
            try:
                claim = self._call_handler(registered, offer)
            except Exception as error:
                verdict.error = f"{type(error).__name__}: {error}"
                logger.error(
                    "handler %s (plugin %s) raised on series %s, %s: %s",
                    registered.module.id,
                    registered.plugin,
                    series.series_instance_uid,
                    describe_sop_class(sop_class_uid),
                    verdict.error,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                made.append(self._error_display_set(offer, registered, verdict.error))
                remaining = []
                break
            claimed = {uid for d in claim.display_sets for uid in d.sop_instance_uids}
            verdict.claimed = len(claimed)
            verdict.declined = claim.declined
            made.extend(claim.display_sets)
            remaining = [i for i in offered if i.sop_instance_uid not in claimed]
            if remaining and not claim.declined:
                verdict.declined = [
                    Decline(
                        tuple(i.sop_instance_uid for i in remaining),
                        "not covered by any display set the handler returned",
                    )
                ]
            declined_by.extend(
                (registered.module.id, d.reason) for d in verdict.declined
            )
        if remaining:
            # Reached only when no fallback is registered (the built-in unsupported
            # plugin was blocked): the core still gives every instance a display set.
            from displaysets.builtin.unsupported import UNSUPPORTED_HANDLER

            offer = Offer(
                UNSUPPORTED_HANDLER,
                sop_class_uid,
                remaining,
                series,
                study,
                remaining[0].source,
                self.host.install_hints,
                salt,
                tuple(declined_by),
            )
            verdict = Verdict(UNSUPPORTED_HANDLER.id, "core", len(remaining))
            fallback = UNSUPPORTED_HANDLER.get_display_sets_from_series(offer)
            made.extend(fallback)  # type: ignore[arg-type]
            verdict.claimed = len(remaining)
            explanation.verdicts.append(verdict)
        explanation.display_set_instance_uids = [
            d.display_set_instance_uid for d in made
        ]
        return made, explanation

    def _complete_metadata(
        self, module: HandlerModule, instances: list[Instance]
    ) -> list[Instance]:
        """Fetch full metadata for instances a reduced source left attributes out of."""
        if not module.required_attributes:
            return instances
        result = []
        for instance in instances:
            missing = [
                k for k in module.required_attributes if k not in instance.dataset
            ]
            if missing and instance.source.metadata_is_reduced(instance):
                try:
                    fuller = instance.source.full_metadata(instance)
                except Exception as error:
                    logger.warning(
                        "%s: cannot fetch full metadata: %s", instance.location, error
                    )
                    fuller = None
                if fuller is not None:
                    self._replace(instance, fuller)
                    instance = fuller
                    missing = [
                        k
                        for k in module.required_attributes
                        if k not in instance.dataset
                    ]
            if missing and instance.source.metadata_is_reduced(instance):
                instance.add_message(
                    "METADATA_INCOMPLETE",
                    Severity.WARNING,
                    f"{instance.location}: metadata lacks {', '.join(missing)}, "
                    f"which handler {module.id} needs",
                )
            result.append(instance)
        return result

    def _replace(self, old: Instance, new: Instance) -> None:
        series = self.studies[old.study_instance_uid].series[old.series_instance_uid]
        series.instances = [new if i is old else i for i in series.instances]
        copies = self._copies.get(old.sop_instance_uid, [])
        self._copies[old.sop_instance_uid] = [new if c is old else c for c in copies]

    @staticmethod
    def _call_handler(registered: RegisteredHandler, offer: Offer) -> Claim:
        answer = registered.module.get_display_sets_from_series(offer)
        if isinstance(answer, Claim):
            claim = answer
        elif answer is None:
            claim = Claim()
        elif isinstance(answer, (list, tuple)):
            claim = Claim(display_sets=list(answer))
        else:
            raise HandlerContractError(
                f"returned {type(answer).__name__}; expected display sets or a Claim"
            )
        offered = {i.sop_instance_uid: i for i in offer.instances}
        seen: set[str] = set()
        for display_set in claim.display_sets:
            if not isinstance(display_set, DisplaySet):
                raise HandlerContractError(
                    f"returned {type(display_set).__name__} among its display sets"
                )
            if not display_set.sop_instance_uids:
                raise HandlerContractError(
                    "returned a display set covering no instance"
                )
            for uid in display_set.sop_instance_uids:
                if uid not in offered:
                    raise HandlerContractError(
                        f"claimed instance {uid}, not offered to it"
                    )
                if uid in seen:
                    raise HandlerContractError(f"claimed instance {uid} twice")
                seen.add(uid)
            display_set.sop_class_handler_id = registered.module.id
            if not display_set.instances:
                display_set.instances = tuple(
                    offered[u] for u in display_set.sop_instance_uids
                )
            display_set.to_json()  # attributes must serialise; raises otherwise
        return claim

    def _error_display_set(
        self, offer: Offer, registered: RegisteredHandler, error: str
    ) -> DisplaySet:
        from displaysets.builtin.unsupported import failure_handler

        handler = failure_handler(registered.module.id)
        error_offer = Offer(
            handler,
            offer.sop_class_uid,
            offer.instances,
            offer.series,
            offer.study,
            offer.source,
            uid_salt=offer.uid_salt,
        )
        display_set = error_offer.display_set(offer.instances, plugin=ERROR_VIEWPORT)
        display_set.add_message(
            "HANDLER_ERROR",
            Severity.ERROR,
            f"handler {registered.module.id} (plugin {registered.plugin}) failed on "
            f"{len(offer.instances)} instance(s) of "
            f"{describe_sop_class(offer.sop_class_uid)}: {error}",
        )
        return display_set

    # -- output --------------------------------------------------------------------

    def _refresh(self) -> None:
        for key, series in list(self._dirty.items()):
            study = self.studies[key[0]]
            self._series_results[key] = self._dispatch_series(study, series)
        self._dirty.clear()
        if not self._resolved:
            ReferenceResolver(self._all_display_sets()).resolve()
            self._resolved = True

    def _all_display_sets(self) -> list[DisplaySet]:
        def order(key: tuple[str, str]) -> tuple[str, bool, int, str]:
            series = self.studies[key[0]].series[key[1]]
            number = series.series_number
            return (key[0], number is None, number or 0, key[1])

        result: list[DisplaySet] = []
        for key in sorted(self._series_results, key=order):
            result.extend(self._series_results[key][0])
        return result

    @property
    def display_sets(self) -> list[DisplaySet]:
        """Every display set, ordered by study, series number and series."""
        self._refresh()
        return self._all_display_sets()

    def get(self, display_set_instance_uid: str) -> DisplaySet:
        """The display set with this UID; ``KeyError`` when there is none."""
        for display_set in self.display_sets:
            if display_set.display_set_instance_uid == display_set_instance_uid:
                return display_set
        raise KeyError(display_set_instance_uid)

    def explain(self) -> list[GroupExplanation]:
        """For every series and SOP class, each handler's verdict."""
        self._refresh()
        result: list[GroupExplanation] = []
        for key in sorted(self._series_results):
            result.extend(self._series_results[key][1])
        return result

    @property
    def instances(self) -> list[Instance]:
        return [i for s in self.studies.values() for r in s.series.values() for i in r]

    def handler_of(self, display_set: DisplaySet) -> HandlerModule | None:
        registered = self.host.handler(display_set.sop_class_handler_id)
        return registered.module if registered else None

    def load(self, display_set: DisplaySet) -> Any:
        """Load a display set's content through the handler that made it."""
        handler = self.handler_of(display_set)
        return load_with(handler, display_set)

    def _refuse_input_destination(self, destination: Path) -> None:
        """Input is never written: refuse a destination that is a scanned file or
        lies inside a scanned folder."""
        target = destination.resolve()
        protected = {Path(p).resolve() for s in self.sources for p in s.input_paths()}
        protected |= {
            Path(i.location).resolve()
            for i in self.instances
            if "://" not in i.location and "#" not in i.location
        }
        same_file = _file_identity(target)
        for path in protected:
            if (
                target == path
                or (path.is_dir() and _inside(target, path))
                or (same_file is not None and same_file == _file_identity(path))
            ):
                raise ExportError(
                    f"{destination}: is or lies inside the scanned input {path}; "
                    "input is never written, export elsewhere"
                )

    def export(
        self,
        display_set: DisplaySet,
        destination: str | Path,
        *,
        overwrite: bool = False,
        **options: str,
    ) -> list[Path]:
        """Write a display set's content in its plugin's natural format.

        ``options`` (from ``displaysets export --option KEY=VALUE``) are passed to the
        handler's exporter as keyword arguments, for example a pyramid level.
        """
        self._refuse_input_destination(Path(destination))
        handler = self.handler_of(display_set)
        if handler is None or handler.export is None:
            raise ContentError(
                f"display set {display_set.display_set_instance_uid} "
                f"({display_set.plugin}): its handler cannot export content"
            )
        try:
            if options:
                return handler.export(
                    display_set, Path(destination), overwrite, **options
                )
            return handler.export(display_set, Path(destination), overwrite)
        except DisplaySetsError:
            raise
        except Exception as error:
            raise ContentError(
                f"handler {handler.id} could not export display set "
                f"{display_set.display_set_instance_uid}: "
                f"{type(error).__name__}: {error}"
            ) from error


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file: a hard link is the same file."""
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_dev, status.st_ino)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def load_with(handler: HandlerModule | None, display_set: DisplaySet) -> Any:
    """Call ``handler.load`` with clear errors for what cannot be loaded."""
    if handler is None:
        raise ContentError(
            f"no installed handler {display_set.sop_class_handler_id!r} "
            "for display set "
            f"{display_set.display_set_instance_uid}"
        )
    if handler.load is None:
        raise ContentError(
            f"handler {handler.id} has no content loader "
            f"(display set {display_set.display_set_instance_uid})"
        )
    if not display_set.instances:
        raise ContentError(
            f"display set {display_set.display_set_instance_uid} carries no instances "
            "(was it read back from JSON?); scan the source again to load it"
        )
    try:
        return handler.load(display_set)
    except DisplaySetsError:
        raise
    except Exception as error:
        raise ContentError(
            f"handler {handler.id} could not load display set "
            f"{display_set.display_set_instance_uid}: {type(error).__name__}: {error}"
        ) from error


def scan(
    paths: Sequence[str | Path] | str | Path,
    *,
    host: PluginHost | None = None,
    progress: ScanProgress | None = None,
) -> DisplaySetService:
    """Read ``paths`` (files, folders, DICOMDIRs, DICOM JSON) and dispatch them.

    Returns the service; ``service.display_sets`` lists the result, and
    ``service.problems`` what could not be read.
    """
    from displaysets.sources.files import sources_for_paths

    if isinstance(paths, (str, Path)):
        paths = [paths]
    service = DisplaySetService(host)
    for source in sources_for_paths(paths):
        service.add_source(source, progress)
    return service

"""The handler contract test suite that every handler plugin subclasses.

A subclass names its plugin and sample files; the inherited tests check that the plugin
registers cleanly, that every instance of the samples lands in exactly one display set,
that display set UIDs are deterministic, that records survive a JSON round trip, that
no content is read while display sets are built, and that a broken instance stays an
isolated message instead of taking the scan down.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pydicom
import pytest
from pydicom.dataset import Dataset

from displaysets.model import Instance
from displaysets.plugins import PluginHost, PluginRecord
from displaysets.records import DisplaySet
from displaysets.service import DisplaySetService
from displaysets.sources.files import FileSource
from displaysets.uids import is_valid_uid

_IDENTIFYING_KEYWORDS = (
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "Modality",
)


class ContentReadDuringDispatch(AssertionError):
    """Raised by the guard when a handler reads content while building display sets."""


@contextmanager
def forbid_content_reads() -> Iterator[None]:
    """Make every route to bulk content fail for the duration of the block."""
    mp = pytest.MonkeyPatch()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ContentReadDuringDispatch("content was read while building display sets")

    mp.setattr(Instance, "open_dataset", refuse)
    mp.setattr(pydicom, "dcmread", refuse)
    mp.setattr(pydicom.filereader, "dcmread", refuse)
    try:
        yield
    finally:
        mp.undo()


class HandlerContract:
    """Inherit in a ``Test...`` class and set the class attributes below.

    Attributes
    ----------
    plugin
        The plugin object (usually the module holding the ``@hookimpl`` functions).
    plugin_name
        Its entry-point name.
    distribution
        Its distribution name.
    """

    plugin: ClassVar[object]
    plugin_name: ClassVar[str]
    distribution: ClassVar[str] = ""

    def sample_files(self) -> list[Path]:
        """The sample files the contract runs on; skip when they are unavailable."""
        raise NotImplementedError("a HandlerContract subclass lists its sample files")

    # -- helpers -------------------------------------------------------------------

    def make_host(self) -> tuple[PluginHost, PluginRecord]:
        host = PluginHost(
            autoload=False, builtins=True, allow=(), block=(), handler_order=()
        )
        record = host.register(
            self.plugin, self.plugin_name, distribution=self.distribution
        )
        return host, record

    def _samples(self) -> list[Path]:
        samples = [Path(p) for p in self.sample_files()]
        if not samples:
            pytest.skip("no sample files available for this contract run")
        return samples

    def make_service(self, paths: list[Path] | None = None) -> DisplaySetService:
        host, _ = self.make_host()
        service = DisplaySetService(host)
        service.add_source(FileSource(paths if paths is not None else self._samples()))
        return service

    @staticmethod
    def coverage(display_sets: list[DisplaySet]) -> collections.Counter[int]:
        """How many display sets cover each instance object (by identity, so two
        conflicting copies of one SOP Instance UID count as two instances)."""
        return collections.Counter(id(i) for d in display_sets for i in d.instances)

    # -- the contract --------------------------------------------------------------

    def test_plugin_registers_without_errors(self) -> None:
        host, record = self.make_host()
        assert record.errors == []
        assert record.status == "loaded"
        assert record.handler_ids, "the plugin provides no handler module"
        for handler_id in record.handler_ids:
            registered = host.handler(handler_id)
            assert registered is not None
            assert registered.plugin == self.plugin_name
            for uid in registered.module.sop_class_uids:
                assert is_valid_uid(uid), uid

    def test_samples_exercise_the_plugin(self) -> None:
        _, record = self.make_host()
        service = self.make_service()
        handled = [
            d
            for d in service.display_sets
            if d.sop_class_handler_id in record.handler_ids
        ]
        assert handled, "no sample produced a display set of this plugin's handlers"

    def test_every_instance_lands_in_exactly_one_display_set(self) -> None:
        service = self.make_service()
        counts = self.coverage(service.display_sets)
        assert set(counts) == {id(i) for i in service.instances}
        assert [n for n in counts.values() if n != 1] == []

    def test_display_set_uids_are_deterministic(self) -> None:
        samples = self._samples()
        first = self.make_service(samples).display_sets
        again = self.make_service(samples).display_sets
        reversed_order = self.make_service(list(reversed(samples))).display_sets
        uids = [d.display_set_instance_uid for d in first]
        assert uids == [d.display_set_instance_uid for d in again]
        assert sorted(uids) == sorted(
            d.display_set_instance_uid for d in reversed_order
        )
        assert all(is_valid_uid(uid) and uid.startswith("2.25.") for uid in uids)
        assert len(set(uids)) == len(uids)

    def test_records_survive_a_json_round_trip(self) -> None:
        for display_set in self.make_service().display_sets:
            data = json.loads(json.dumps(display_set.to_json()))
            assert DisplaySet.from_json(data).to_json() == data
            assert data["SOPInstanceUIDs"][0] == data["SOPInstanceUID"]
            assert data["numInstances"] == len(data["SOPInstanceUIDs"])

    def test_no_content_is_read_while_building_display_sets(self) -> None:
        host, _ = self.make_host()
        service = DisplaySetService(host)
        service.add_source(FileSource(self._samples()))
        with forbid_content_reads():
            display_sets = service.display_sets
        failures = [
            m.text
            for d in display_sets
            for m in d.messages
            if m.code == "HANDLER_ERROR"
        ]
        assert failures == []

    def test_a_stripped_instance_gives_messages_not_exceptions(self) -> None:
        host, record = self.make_host()
        baseline = DisplaySetService(host)
        baseline.add_source(FileSource(self._samples()))
        baseline_sets = baseline.display_sets
        target = next(
            (
                d
                for d in baseline_sets
                if d.sop_class_handler_id in record.handler_ids and d.instances
            ),
            None,
        )
        if target is None:
            pytest.skip("no display set of this plugin to strip")
        victim = target.instances[0]

        service = DisplaySetService(host)
        for instance in baseline.instances:
            if instance is victim:
                stripped = Dataset()
                for keyword in _IDENTIFYING_KEYWORDS:
                    if keyword in instance.dataset:
                        setattr(stripped, keyword, instance.dataset.get(keyword))
                instance = Instance(
                    dataset=stripped,
                    location=instance.location,
                    source=instance.source,
                    bulk_data=dict(instance.bulk_data),
                )
            service.add_instance(instance)
        display_sets = service.display_sets

        counts = self.coverage(display_sets)
        assert [n for n in counts.values() if n != 1] == []
        assert set(counts) == {id(i) for i in service.instances}
        assert len(service.instances) == len(baseline.instances)
        errors = [
            m.text
            for d in display_sets
            for m in d.messages
            if m.code == "HANDLER_ERROR"
        ]
        assert errors == []
        untouched = {
            d.display_set_instance_uid
            for d in baseline_sets
            if d.series_instance_uid != target.series_instance_uid
        }
        assert untouched <= {d.display_set_instance_uid for d in display_sets}

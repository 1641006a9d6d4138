"""Plugins are discovered through entry points; failures are recorded, not fatal."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from displaysets.plugins import PluginHost
from displaysets.testing import FakeDistribution
from displaysets.testing.fakes import entry_points_of

ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"

GOOD_PLUGIN = f'''
from displaysets import HandlerModule, hookimpl

def make(offer):
    return [offer.display_set(offer.instances)]

@hookimpl
def get_sop_class_handler_module():
    return HandlerModule(id="{{id}}", sop_class_uids=("{ECG}",),
                         get_display_sets_from_series=make, viewport="ecg",
                         priority={{priority}})
'''


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def write_module(folder: Path, name: str, source: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(source))


def host_of(*distributions: FakeDistribution, **options: object) -> PluginHost:
    options = {"allow": (), "block": (), "handler_order": (), **options}
    host = PluginHost(autoload=False, builtins=False, **options)  # type: ignore[arg-type]
    host.load_entry_points(entry_points_of(list(distributions)))
    return host


def test_a_plugin_is_recorded_with_its_distribution_and_handlers(
    plugin_dir: Path,
) -> None:
    write_module(plugin_dir, "ecg_one", GOOD_PLUGIN.format(id="one.ecg", priority=0))
    host = host_of(FakeDistribution("one-dist", "2.5", {"ecg": "ecg_one"}))
    record = next(r for r in host.records if r.name == "ecg")
    assert (record.distribution, record.version, record.status) == (
        "one-dist",
        "2.5",
        "loaded",
    )
    assert record.handler_ids == ["one.ecg"]
    assert [h.module.id for h in host.handlers_for(ECG)] == [
        "one.ecg",
        "displaysets.unsupported",
    ]


def test_the_builtins_register_as_ordinary_plugins(plugin_dir: Path) -> None:
    host = host_of()
    builtins = {r.name: r for r in host.records if r.builtin}
    assert sorted(builtins) == ["images", "unsupported"]
    assert builtins["images"].handler_ids == ["displaysets.images"]
    assert builtins["unsupported"].distribution == "displaysets"


def test_a_plugin_that_fails_to_import_is_recorded_and_the_rest_load(
    plugin_dir: Path,
) -> None:
    write_module(plugin_dir, "ecg_good", GOOD_PLUGIN.format(id="good.ecg", priority=0))
    write_module(plugin_dir, "ecg_broken", "raise RuntimeError('no codec installed')\n")
    host = host_of(
        FakeDistribution("broken-dist", "0.1", {"broken": "ecg_broken"}),
        FakeDistribution("good-dist", "1.0", {"good": "ecg_good"}),
    )
    records = {r.name: r for r in host.records}
    assert records["broken"].status == "failed"
    assert records["broken"].errors == [
        "cannot import ecg_broken: RuntimeError('no codec installed')"
    ]
    assert records["good"].status == "loaded"
    assert host.handler("good.ecg") is not None


def test_an_invalid_handler_module_is_recorded_and_the_valid_ones_register(
    plugin_dir: Path,
) -> None:
    write_module(
        plugin_dir,
        "ecg_mixed",
        f'''
        from displaysets import HandlerModule, hookimpl

        def make(offer):
            return []

        @hookimpl
        def get_sop_class_handler_module():
            return [
                {{"id": "mixed.bad", "sop_class_uids": ("1.2.x",),
                  "get_display_sets_from_series": make, "viewport": "ecg"}},
                HandlerModule(id="mixed.good", sop_class_uids=("{ECG}",),
                              get_display_sets_from_series=make, viewport="ecg"),
            ]
        ''',
    )
    host = host_of(FakeDistribution("mixed-dist", "1.0", {"mixed": "ecg_mixed"}))
    record = next(r for r in host.records if r.name == "mixed")
    assert record.status == "partly loaded"
    assert record.errors == [
        "plugin 'mixed' (distribution mixed-dist): handler module field "
        "'sop_class_uids': '1.2.x' is not a valid UID"
    ]
    assert record.handler_ids == ["mixed.good"]


def test_a_misspelled_hook_implementation_fails_loudly(plugin_dir: Path) -> None:
    write_module(
        plugin_dir,
        "ecg_typo",
        """
        from displaysets import hookimpl

        @hookimpl
        def get_sop_class_handler_modules():
            return []
        """,
    )
    host = host_of(FakeDistribution("typo-dist", "1.0", {"typo": "ecg_typo"}))
    record = next(r for r in host.records if r.name == "typo")
    assert record.status == "failed"
    assert record.errors == [
        "implements an unknown hook 'get_sop_class_handler_modules'; "
        "did you mean 'get_sop_class_handler_module'?"
    ]
    assert host.plugin_manager.get_plugin("typo") is None


def test_a_hook_that_raises_is_recorded(plugin_dir: Path) -> None:
    write_module(
        plugin_dir,
        "ecg_raises",
        """
        from displaysets import hookimpl

        @hookimpl
        def get_sop_class_handler_module():
            raise ValueError("misconfigured")
        """,
    )
    host = host_of(FakeDistribution("raises-dist", "1.0", {"raises": "ecg_raises"}))
    record = next(r for r in host.records if r.name == "raises")
    assert record.errors == [
        "hook get_sop_class_handler_module raised ValueError('misconfigured')"
    ]


def test_block_and_allow_lists_apply_by_name_or_distribution(plugin_dir: Path) -> None:
    write_module(plugin_dir, "ecg_a", GOOD_PLUGIN.format(id="a.ecg", priority=0))
    write_module(plugin_dir, "ecg_b", GOOD_PLUGIN.format(id="b.ecg", priority=0))
    distributions = (
        FakeDistribution("a-dist", "1.0", {"a": "ecg_a"}),
        FakeDistribution("b-dist", "1.0", {"b": "ecg_b"}),
    )
    blocked = host_of(*distributions, block=("b-dist",))
    assert {r.name: r.status for r in blocked.records if not r.builtin} == {
        "a": "loaded",
        "b": "blocked",
    }
    allowed = host_of(*distributions, allow=("b",))
    assert {r.name: r.status for r in allowed.records if not r.builtin} == {
        "a": "blocked",
        "b": "loaded",
    }
    assert allowed.handler("displaysets.images") is not None


def test_block_list_is_read_from_the_environment(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(plugin_dir, "ecg_env", GOOD_PLUGIN.format(id="env.ecg", priority=0))
    monkeypatch.setenv("DISPLAYSETS_BLOCK_PLUGINS", " env , other")
    host = PluginHost(autoload=False, builtins=False)
    host.load_entry_points(
        entry_points_of([FakeDistribution("env-dist", "1.0", {"env": "ecg_env"})])
    )
    assert host.block == ("env", "other")
    assert next(r for r in host.records if r.name == "env").status == "blocked"


def test_conflicts_are_detected_and_ordered_by_configuration_then_priority(
    plugin_dir: Path,
) -> None:
    write_module(plugin_dir, "ecg_low", GOOD_PLUGIN.format(id="low.ecg", priority=0))
    write_module(plugin_dir, "ecg_high", GOOD_PLUGIN.format(id="high.ecg", priority=5))
    distributions = (
        FakeDistribution("low-dist", "1.0", {"low": "ecg_low"}),
        FakeDistribution("high-dist", "1.0", {"high": "ecg_high"}),
    )
    host = host_of(*distributions)
    conflict = next(c for c in host.conflicts if c.sop_class_uid == ECG)
    assert conflict.handler_ids == ("high.ecg", "low.ecg")
    assert conflict.winner == "high.ecg"

    configured = host_of(*distributions, handler_order=("low.ecg",))
    assert next(c for c in configured.conflicts if c.sop_class_uid == ECG).winner == (
        "low.ecg"
    )


def test_a_plugin_overriding_an_image_class_comes_before_the_builtin(
    plugin_dir: Path,
) -> None:
    write_module(
        plugin_dir,
        "ct_override",
        GOOD_PLUGIN.format(id="ct.override", priority=0).replace(
            ECG, "1.2.840.10008.5.1.4.1.1.2"
        ),
    )
    host = host_of(FakeDistribution("ct-dist", "1.0", {"ct": "ct_override"}))
    order = [h.module.id for h in host.handlers_for("1.2.840.10008.5.1.4.1.1.2")]
    assert order == ["ct.override", "displaysets.images", "displaysets.unsupported"]


def test_two_plugins_registering_one_handler_id_keep_the_first(
    plugin_dir: Path,
) -> None:
    write_module(plugin_dir, "ecg_x", GOOD_PLUGIN.format(id="same.ecg", priority=0))
    write_module(plugin_dir, "ecg_y", GOOD_PLUGIN.format(id="same.ecg", priority=0))
    host = host_of(
        FakeDistribution("x-dist", "1.0", {"x": "ecg_x"}),
        FakeDistribution("y-dist", "1.0", {"y": "ecg_y"}),
    )
    records = {r.name: r for r in host.records}
    assert records["x"].handler_ids == ["same.ecg"]
    assert records["y"].errors == [
        "plugin 'y' (distribution y-dist): handler module field 'id': "
        "handler id 'same.ecg' is already registered"
    ]

"""The plugin host: discovers plugins, validates their handler modules, orders them.

Plugins are found through the entry-point group ``displaysets``. A plugin that fails to
import, implements an unknown hook or returns an invalid handler module is recorded with
its name, distribution, version and error, and every other plugin still loads.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

import importlib_metadata
import pluggy

from displaysets import hookspecs
from displaysets.errors import HandlerModuleError
from displaysets.handlers import HandlerModule, validate_handler_module

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP: Final = hookspecs.PROJECT_NAME
CORE_DISTRIBUTION: Final = "displaysets"
ENV_ALLOW: Final = "DISPLAYSETS_PLUGINS"
"""Comma-separated plugin names: when set, only these (and the built-ins) load."""
ENV_BLOCK: Final = "DISPLAYSETS_BLOCK_PLUGINS"
"""Comma-separated plugin names that never load (built-ins included)."""
ENV_HANDLER_ORDER: Final = "DISPLAYSETS_HANDLER_ORDER"
"""Comma-separated handler ids offered first, in this order, for their SOP classes."""

BUILTIN_PLUGINS: Final[Mapping[str, str]] = {
    "images": "displaysets.builtin.images",
    "unsupported": "displaysets.builtin.unsupported",
}


def names_from_env(variable: str) -> tuple[str, ...]:
    """Split a comma-separated environment variable into names."""
    raw = os.environ.get(variable, "")
    return tuple(name.strip() for name in raw.split(",") if name.strip())


@dataclass
class PluginRecord:
    """What ``displaysets plugins`` shows for one plugin."""

    name: str
    distribution: str = ""
    version: str = ""
    builtin: bool = False
    status: str = "loaded"
    """``loaded``, ``partly loaded`` (some handler modules registered, see
    ``errors``), ``failed`` or ``blocked``."""
    errors: list[str] = field(default_factory=list)
    handler_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "status": self.status,
            "errors": list(self.errors),
            "handlers": list(self.handler_ids),
        }


@dataclass(frozen=True)
class Conflict:
    """Several handlers declare one SOP class; the first in ``handler_ids`` wins."""

    sop_class_uid: str
    handler_ids: tuple[str, ...]

    @property
    def winner(self) -> str:
        return self.handler_ids[0]


@dataclass(frozen=True)
class RegisteredHandler:
    """A validated handler module with the plugin it came from."""

    module: HandlerModule
    plugin: str
    distribution: str
    builtin: bool


class PluginHost:
    """Loads plugins into a pluggy manager and answers "who handles this SOP class?".

    Parameters
    ----------
    autoload
        Discover plugins through entry points. With ``False`` only what is passed to
        :meth:`register` is known (the built-ins too, unless ``builtins`` is true).
    builtins
        With ``autoload=False``, still register the built-in image and unsupported
        handlers.
    allow, block
        Plugin names (entry-point name or distribution name) to allow or block; by
        default read from ``DISPLAYSETS_PLUGINS`` and ``DISPLAYSETS_BLOCK_PLUGINS``.
    handler_order
        Handler ids offered first, in this order; by default from
        ``DISPLAYSETS_HANDLER_ORDER``.
    """

    def __init__(
        self,
        *,
        autoload: bool = True,
        builtins: bool = True,
        allow: Sequence[str] | None = None,
        block: Sequence[str] | None = None,
        handler_order: Sequence[str] | None = None,
    ) -> None:
        self.plugin_manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.plugin_manager.add_hookspecs(hookspecs)
        self.allow = tuple(names_from_env(ENV_ALLOW) if allow is None else allow)
        self.block = tuple(names_from_env(ENV_BLOCK) if block is None else block)
        self.handler_order = tuple(
            names_from_env(ENV_HANDLER_ORDER)
            if handler_order is None
            else handler_order
        )
        self.records: list[PluginRecord] = []
        self._handlers: list[RegisteredHandler] = []
        self._install_hints: dict[str, str] = {}
        self._order_cache: dict[str, list[RegisteredHandler]] = {}
        if autoload:
            self.load_entry_points()
        elif builtins:
            self.register_builtins()

    # -- loading -------------------------------------------------------------------

    def _is_blocked(self, name: str, distribution: str, builtin: bool) -> bool:
        names = {name, distribution}
        if names & set(self.block):
            return True
        return bool(self.allow) and not builtin and not names & set(self.allow)

    def load_entry_points(
        self, entry_points: Iterable[importlib_metadata.EntryPoint] | None = None
    ) -> None:
        """Discover and register every plugin of the ``displaysets`` group."""
        if entry_points is None:
            entry_points = importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)
        seen_builtins = set()
        for entry_point in sorted(entry_points, key=lambda ep: ep.name):
            dist = entry_point.dist
            distribution = dist.metadata["Name"] if dist is not None else ""
            version = dist.version if dist is not None else ""
            builtin = distribution == CORE_DISTRIBUTION
            if builtin:
                seen_builtins.add(entry_point.name)
            record = PluginRecord(entry_point.name, distribution, version, builtin)
            if self._is_blocked(entry_point.name, distribution, builtin):
                record.status = "blocked"
                self.records.append(record)
                logger.info("plugin %r blocked by configuration", entry_point.name)
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:
                self._fail(record, f"cannot import {entry_point.value}: {error!r}")
                continue
            self._register(plugin, record)
        missing = [n for n in BUILTIN_PLUGINS if n not in seen_builtins]
        if missing:
            # Running from a source tree that was never installed: no entry points.
            self.register_builtins(missing)

    def register_builtins(self, names: Iterable[str] = tuple(BUILTIN_PLUGINS)) -> None:
        """Register the core's own handlers as ordinary plugins."""
        import importlib

        from displaysets import __version__

        for name in names:
            record = PluginRecord(name, CORE_DISTRIBUTION, __version__, builtin=True)
            if self._is_blocked(name, CORE_DISTRIBUTION, True):
                record.status = "blocked"
                self.records.append(record)
                continue
            self._register(importlib.import_module(BUILTIN_PLUGINS[name]), record)

    def register(
        self,
        plugin: object,
        name: str,
        *,
        distribution: str = "",
        version: str = "",
        builtin: bool = False,
    ) -> PluginRecord:
        """Register a plugin object (a module or an instance) under ``name``."""
        record = PluginRecord(name, distribution, version, builtin)
        self._register(plugin, record)
        return record

    def _fail(self, record: PluginRecord, error: str) -> None:
        record.status = "failed"
        record.errors.append(error)
        if record not in self.records:
            self.records.append(record)
        logger.warning("plugin %r (%s): %s", record.name, record.distribution, error)

    def _register(self, plugin: object, record: PluginRecord) -> None:
        self.records.append(record)
        manager = self.plugin_manager
        try:
            manager.register(plugin, name=record.name)
        except Exception as error:
            self._fail(record, f"cannot register: {error}")
            return
        try:
            manager.check_pending()
        except pluggy.PluginValidationError:
            unknown = [
                name
                for name in dir(plugin)
                if manager.parse_hookimpl_opts(plugin, name) is not None
                and name not in hookspecs.HOOK_NAMES
            ]
            manager.unregister(plugin)
            for name in unknown or ["?"]:
                close = difflib.get_close_matches(name, hookspecs.HOOK_NAMES, 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self._fail(record, f"implements an unknown hook {name!r}{hint}")
            return
        self._collect(plugin, record)
        if record.errors and record.handler_ids:
            record.status = "partly loaded"
        self._order_cache.clear()

    def _call(self, plugin: object, hook_name: str, record: PluginRecord) -> Any:
        caller = getattr(self.plugin_manager.hook, hook_name)
        for implementation in caller.get_hookimpls():
            if implementation.plugin is plugin:
                try:
                    return implementation.function()
                except Exception as error:
                    self._fail(record, f"hook {hook_name} raised {error!r}")
                    return None
        return None

    def _collect(self, plugin: object, record: PluginRecord) -> None:
        answer = self._call(plugin, "get_sop_class_handler_module", record)
        if answer is None:
            candidates: list[object] = []
        elif isinstance(answer, (list, tuple)):
            candidates = list(answer)
        else:
            candidates = [answer]
        known_ids = {h.module.id for h in self._handlers}
        for candidate in candidates:
            try:
                module = validate_handler_module(
                    candidate, plugin=record.name, distribution=record.distribution
                )
                if module.id in known_ids:
                    raise HandlerModuleError(
                        record.name,
                        record.distribution,
                        "id",
                        f"handler id {module.id!r} is already registered",
                    )
            except HandlerModuleError as error:
                self._fail(record, str(error))
                continue
            known_ids.add(module.id)
            record.handler_ids.append(module.id)
            self._handlers.append(
                RegisteredHandler(
                    module, record.name, record.distribution, record.builtin
                )
            )
        hints = self._call(plugin, "get_sop_class_install_hints", record)
        if isinstance(hints, Mapping):
            for uid, distribution in hints.items():
                self._install_hints.setdefault(str(uid), str(distribution))

    # -- questions -----------------------------------------------------------------

    @property
    def handlers(self) -> list[RegisteredHandler]:
        """Every registered handler, in registration order."""
        return list(self._handlers)

    def handler(self, handler_id: str) -> RegisteredHandler | None:
        for registered in self._handlers:
            if registered.module.id == handler_id:
                return registered
        return None

    def _sort_key(self, registered: RegisteredHandler) -> tuple[int, int, int, str]:
        module = registered.module
        explicit = (
            self.handler_order.index(module.id)
            if module.id in self.handler_order
            else len(self.handler_order)
        )
        return (explicit, -module.priority, int(registered.builtin), module.id)

    def handlers_for(self, sop_class_uid: str) -> list[RegisteredHandler]:
        """Handlers offered this SOP class, in offer order; fallbacks come last."""
        cached = self._order_cache.get(sop_class_uid)
        if cached is not None:
            return cached
        specific = [
            h for h in self._handlers if sop_class_uid in h.module.sop_class_uids
        ]
        fallbacks = [h for h in self._handlers if h.module.is_fallback]
        ordered = sorted(specific, key=self._sort_key) + sorted(
            fallbacks, key=self._sort_key
        )
        self._order_cache[sop_class_uid] = ordered
        return ordered

    @property
    def conflicts(self) -> list[Conflict]:
        """SOP classes that more than one handler declares, with the winner first."""
        declared: dict[str, None] = {}
        for registered in self._handlers:
            for uid in registered.module.sop_class_uids:
                if not registered.module.is_fallback:
                    declared.setdefault(uid)
        result = []
        for uid in declared:
            ids = tuple(
                h.module.id for h in self.handlers_for(uid) if not h.module.is_fallback
            )
            if len(ids) > 1:
                result.append(Conflict(uid, ids))
        return result

    @property
    def install_hints(self) -> Mapping[str, str]:
        """SOP Class UID -> distribution, merged from every plugin's hints."""
        return self._install_hints

    def install_hint(self, sop_class_uid: str) -> str | None:
        """The distribution that would handle ``sop_class_uid``, where known."""
        return self._install_hints.get(sop_class_uid)

    def module_of(self, plugin_name: str) -> ModuleType | None:
        plugin = self.plugin_manager.get_plugin(plugin_name)
        return plugin if isinstance(plugin, ModuleType) else None

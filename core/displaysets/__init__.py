"""displaysets: turn DICOM studies into display sets through SOP class handler plugins.

The names below are the public API; heavy modules load only when first used, so that
``import displaysets`` and plugin discovery stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "hookimpl": "displaysets.hookspecs",
    "hookspec": "displaysets.hookspecs",
    "HandlerModule": "displaysets.handlers",
    "Offer": "displaysets.handlers",
    "Claim": "displaysets.handlers",
    "Decline": "displaysets.handlers",
    "ANY_SOP_CLASS": "displaysets.handlers",
    "DisplaySet": "displaysets.records",
    "Message": "displaysets.records",
    "Severity": "displaysets.records",
    "Reference": "displaysets.records",
    "ReferenceKind": "displaysets.records",
    "ReferenceStatus": "displaysets.records",
    "Instance": "displaysets.model",
    "Series": "displaysets.model",
    "Study": "displaysets.model",
    "PluginHost": "displaysets.plugins",
    "DisplaySetService": "displaysets.service",
    "scan": "displaysets.service",
    "DataSource": "displaysets.sources.base",
    "Problem": "displaysets.sources.base",
    "DisplaySetsError": "displaysets.errors",
    "HandlerModuleError": "displaysets.errors",
    "ContentError": "displaysets.errors",
    "ExportError": "displaysets.errors",
    "SourceError": "displaysets.errors",
    "AuthenticationError": "displaysets.errors",
}

__all__ = [*sorted(_EXPORTS), "__version__", "load"]

if TYPE_CHECKING:
    from displaysets.errors import (
        AuthenticationError,
        ContentError,
        DisplaySetsError,
        ExportError,
        HandlerModuleError,
        SourceError,
    )
    from displaysets.handlers import ANY_SOP_CLASS, Claim, Decline, HandlerModule, Offer
    from displaysets.hookspecs import hookimpl, hookspec
    from displaysets.model import Instance, Series, Study
    from displaysets.plugins import PluginHost
    from displaysets.records import (
        DisplaySet,
        Message,
        Reference,
        ReferenceKind,
        ReferenceStatus,
        Severity,
    )
    from displaysets.service import DisplaySetService, scan
    from displaysets.sources.base import DataSource, Problem


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'displaysets' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def load(display_set: DisplaySet, host: PluginHost | None = None) -> Any:
    """Load a display set's content through the handler that made it.

    Parameters
    ----------
    display_set
        A display set from a scan in this process (it carries its instances).
    host
        The plugin host to find the handler in; by default one that discovers every
        installed plugin.
    """
    from displaysets.plugins import PluginHost
    from displaysets.service import load_with

    host = host if host is not None else PluginHost()
    registered = host.handler(display_set.sop_class_handler_id)
    return load_with(registered.module if registered else None, display_set)

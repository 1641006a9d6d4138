"""The hooks a displaysets plugin may implement.

Every hook here is documented in the README's hook reference; a test fails when one is
missing there. Implement a hook with :data:`displaysets.hookimpl`::

    from displaysets import HandlerModule, hookimpl

    @hookimpl
    def get_sop_class_handler_module():
        return HandlerModule(id="my-plugin.ecg", ...)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import pluggy

PROJECT_NAME: Final = "displaysets"
"""The pluggy project name and the entry-point group plugins register under."""

hookspec: Final = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl: Final = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def get_sop_class_handler_module() -> Any:
    """Return the SOP class handler modules this plugin provides.

    :return:
        A :class:`~displaysets.handlers.HandlerModule`, a mapping with the same field
        names, or a sequence of either. ``None`` or an empty sequence provides nothing.

    Each handler module is validated when it registers; a missing or misspelled field,
    a malformed UID or a wrong type is recorded as a load error naming the plugin, its
    distribution and the field, and the plugin's other handler modules still register.

    When several plugins answer, every answer is registered. Handlers that declare the
    same SOP Class UID are a *conflict*: it is reported by ``displaysets plugins``, and
    the handlers are offered that SOP class in order (explicit configuration, then
    higher ``priority``, then plugins before the built-in handlers, then by id).

    Called once per plugin when the plugin host loads plugins.
    """


@hookspec
def get_sop_class_install_hints() -> Mapping[str, str] | None:
    """Return which distribution handles SOP classes this installation may lack.

    :return:
        A mapping of SOP Class UID to a distribution name (for example
        ``{"1.2.840.10008.5.1.4.1.1.104.1": "displaysets-dicom-pdf"}``), or ``None``.

    The unsupported display set of an instance nobody claims names the distribution
    from these hints, so a user learns what to install.

    When several plugins answer, the mappings are merged; for a UID named by more than
    one plugin, the plugin registered first wins.

    Called once, when the plugin host loads plugins.
    """


HOOK_NAMES: Final[Sequence[str]] = (
    "get_sop_class_handler_module",
    "get_sop_class_install_hints",
)
"""Every hook of this module, in the order the README documents them."""

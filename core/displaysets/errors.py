"""The exceptions displaysets raises; all derive from :class:`DisplaySetsError`."""

from __future__ import annotations


class DisplaySetsError(Exception):
    """Base class of every error this package raises on purpose."""


class HandlerModuleError(DisplaySetsError):
    """A plugin returned a handler module that does not meet the contract.

    The message names the plugin, its distribution and the offending field.
    """

    def __init__(self, plugin: str, distribution: str, field: str, reason: str) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.field = field
        self.reason = reason
        where = f"plugin {plugin!r}"
        if distribution:
            where += f" (distribution {distribution})"
        super().__init__(f"{where}: handler module field {field!r}: {reason}")


class HandlerContractError(DisplaySetsError):
    """A handler's answer to an offer breaks the contract (claims what it was not
    offered, claims an instance twice, returns something that is not a display set)."""


class SourceError(DisplaySetsError):
    """A data source cannot be read at all (a missing folder, a broken DICOMDIR)."""


class AuthenticationError(SourceError):
    """A server refused the credentials; the message names the URL, never them."""


class ContentError(DisplaySetsError):
    """Content of a display set cannot be loaded (missing, truncated, inconsistent)."""


class ExportError(DisplaySetsError):
    """A display set cannot be exported to the requested destination."""


class DestinationExists(ExportError):
    """The export destination exists and overwriting was not asked for."""

    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(f"{path} exists and is not replaced unless asked to")

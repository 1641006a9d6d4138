"""The built-in image handler passes the contract it ships to plugin authors."""

from __future__ import annotations

from pathlib import Path

from displaysets.builtin import images
from displaysets.testing import HandlerContract, require_corpus


class TestImageHandlerContract(HandlerContract):
    plugin = images
    plugin_name = "images-under-test"
    distribution = "displaysets"

    def make_host(self):  # type: ignore[no-untyped-def]
        # The image plugin is already a built-in; register only the fallback beside it.
        from displaysets.plugins import PluginHost

        host = PluginHost(
            autoload=False, builtins=False, allow=(), block=(), handler_order=()
        )
        host.register_builtins(["unsupported"])
        record = host.register(images, self.plugin_name, distribution=self.distribution)
        return host, record

    def sample_files(self) -> list[Path]:
        return sorted(require_corpus("image").glob("*.dcm")) + sorted(
            require_corpus("dicomdir", "pydicom_dicomdirtests", "77654033").rglob("*")
        )

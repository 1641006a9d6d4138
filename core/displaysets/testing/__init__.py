"""Test helpers for plugin authors: isolated hosts, fake distributions, the contract.

Subclass :class:`HandlerContract` in a plugin's tests with the plugin module and its
sample files, and pytest runs the whole handler contract against them::

    from displaysets.testing import HandlerContract, require_corpus

    class TestMyPluginContract(HandlerContract):
        plugin = my_plugin.plugin
        plugin_name = "my-plugin"
        distribution = "my-plugin-dist"

        def sample_files(self):
            return sorted(require_corpus("sr").glob("*.dcm"))
"""

from displaysets.testing.contract import HandlerContract
from displaysets.testing.corpus import CORPUS_ENV, corpus_dir, require_corpus
from displaysets.testing.fakes import FakeDistribution, isolated_host

__all__ = [
    "CORPUS_ENV",
    "FakeDistribution",
    "HandlerContract",
    "corpus_dir",
    "isolated_host",
    "require_corpus",
]

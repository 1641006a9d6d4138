"""End to end through a really installed distribution (the nox session
``entry_points`` installs tests/example_plugin); skipped elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from displaysets.testing import require_corpus
from factories import installed

pytestmark = pytest.mark.skipif(
    not installed("example-ecg"), reason="displaysets-example-ecg is not installed"
)


def test_the_installed_plugin_is_listed_with_its_distribution() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "displaysets", "plugins", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    plugins = {p["name"]: p for p in json.loads(out)["plugins"]}
    assert plugins["example-ecg"]["distribution"] == "displaysets-example-ecg"
    assert plugins["example-ecg"]["version"] == "0.1.0"
    assert plugins["example-ecg"]["handlers"] == ["displaysets-example-ecg.ecg"]


def test_the_installed_plugin_handles_a_real_ecg() -> None:
    path = require_corpus("image", "pydicom_waveform_ecg.dcm")
    out = subprocess.run(
        [sys.executable, "-m", "displaysets", "scan", "--json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (record,) = json.loads(out)["displaySets"]
    assert record["plugin"] == "ecg"
    assert record["SOPClassHandlerId"] == "displaysets-example-ecg.ecg"
    assert record["waveformGroups"] == 2


def test_blocking_the_plugin_by_environment_makes_the_ecg_unsupported() -> None:
    path = require_corpus("image", "pydicom_waveform_ecg.dcm")
    out = subprocess.run(
        [sys.executable, "-m", "displaysets", "scan", "--json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DISPLAYSETS_BLOCK_PLUGINS": "example-ecg"},
    ).stdout
    (record,) = json.loads(out)["displaySets"]
    assert record["plugin"] == "unsupported"

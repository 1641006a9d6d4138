"""Plugin discovery stays fast: finding and validating plugins imports no DICOM,
imaging or HTTP library; they load when display sets are built or content is read."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["pydicom", "numpy", "highdicom", "wsidicom", "pypdf", "requests"]


def test_discovering_every_installed_plugin_imports_no_heavy_library() -> None:
    probe = (
        "import json, sys\n"
        "from displaysets.plugins import PluginHost\n"
        "host = PluginHost()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert json.loads(out) == []

"""The test matrix: every supported Python, the core alone, each plugin alone, all
together, lint, types, lowest dependency versions and installed wheels.

Run ``nox`` for everything, ``nox -s tests`` for one axis, ``nox -l`` to list.
A missing interpreter skips on a workstation and fails in CI (nox's default when the
``CI`` environment variable is set).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PLUGINS = sorted(p.parent.name for p in ROOT.glob("plugins/*/pyproject.toml"))
CORE_TESTS = ["tests", "--ignore=tests/dicomweb"]

nox.options.default_venv_backend = "uv|virtualenv"
# Interpreters come from pyenv (PYENV_VERSION lists them); uv must not fetch its own.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))
nox.options.sessions = [
    "tests",
    "dicomweb",
    "plugin_alone",
    "core_alone",
    "entry_points",
    "lowest",
    "wheels",
    "lint",
    "types",
]


def plugin_paths(*names: str) -> list[str]:
    return [str(ROOT / "plugins" / name) for name in names]


def plugin_tests(*names: str) -> list[str]:
    return [
        str(ROOT / "plugins" / name / "tests")
        for name in names
        if (ROOT / "plugins" / name / "tests").is_dir()
    ]


def pytest(session: nox.Session, *paths: str) -> None:
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *paths,
        *session.posargs,
    )


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The core with every plugin, on every supported Python."""
    session.install(
        "-e", ".[dicomweb]", "pytest", *[f"-e{p}" for p in plugin_paths(*PLUGINS)]
    )
    pytest(session, *CORE_TESTS, *plugin_tests(*PLUGINS))


def _can_isolate_network() -> bool:
    """True when ``unshare --net`` works here (root, or unprivileged namespaces)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--net", "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


@nox.session(python=PYTHONS)
def dicomweb(session: nox.Session) -> None:
    """The DICOMweb source against a real Orthanc, with every plugin.

    Orthanc 1.10 cannot bind to loopback only, so the tests run in a network
    namespace of their own that has nothing but ``lo``.
    """
    session.install(
        "-e", ".[dicomweb]", "pytest", *[f"-e{p}" for p in plugin_paths(*PLUGINS)]
    )
    command = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/dicomweb", *session.posargs]
    if _can_isolate_network():
        inner = "ip link set lo up && exec " + " ".join(command)
        session.run("unshare", "--net", "sh", "-c", inner, external=True)
    else:
        session.warn(
            "unshare --net is not available: Orthanc listens on all interfaces "
            "(refusing remote clients) while the tests run"
        )
        session.run(*command)


@nox.session(python="3.11")
def core_alone(session: nox.Session) -> None:
    """The core without plugins: SR, PDF, SEG and SM come out unsupported with hints."""
    session.install("-e", ".", "pytest")
    pytest(session, *CORE_TESTS)


@nox.session(python="3.11")
@nox.parametrize("plugin", PLUGINS)
def plugin_alone(session: nox.Session, plugin: str) -> None:
    """Each plugin with the core and nothing else."""
    session.install("-e", ".", "pytest", "-e", *plugin_paths(plugin))
    pytest(session, *CORE_TESTS, *plugin_tests(plugin))


@nox.session(python="3.11")
def entry_points(session: nox.Session) -> None:
    """A tiny real plugin distribution, installed, found through its entry point."""
    session.install(".", "pytest", str(ROOT / "tests" / "example_plugin"))
    pytest(session, "tests/test_example_plugin_installed.py")


@nox.session(python="3.10")
def lowest(session: nox.Session) -> None:
    """The lowest dependency versions the distributions allow."""
    session.install(
        "--resolution=lowest-direct",
        "-e",
        ".",
        "pytest>=8",  # a test tool, not a dependency under test
        *[f"-e{p}" for p in plugin_paths(*PLUGINS)],
    )
    pytest(session, *CORE_TESTS, *plugin_tests(*PLUGINS))


@nox.session(python="3.12")
def wheels(session: nox.Session) -> None:
    """Built wheels, not the source tree, installed and tested."""
    dist = Path(session.create_tmp()) / "dist"
    session.install("build")
    for project in [str(ROOT), *plugin_paths(*PLUGINS)]:
        session.run(
            "python",
            "-m",
            "build",
            "--wheel",
            "--outdir",
            str(dist),
            project,
            silent=True,
        )
    session.install("pytest", *sorted(str(w) for w in dist.glob("*.whl")))
    pytest(session, *CORE_TESTS, *plugin_tests(*PLUGINS))


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def types(session: nox.Session) -> None:
    """mypy on the core and on every plugin."""
    session.install(
        "mypy", "pytest", "-e", ".", *[f"-e{p}" for p in plugin_paths(*PLUGINS)]
    )
    session.run("mypy", "core/displaysets")
    for plugin in PLUGINS:
        source = ROOT / "plugins" / plugin / "src"
        session.run("mypy", str(source))

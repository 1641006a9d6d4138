"""A throwaway Orthanc with its DICOMweb plugin, run as a child process on loopback.

Used by the DICOMweb tests and benchmark: a free 127.0.0.1 port, basic
authentication, remote access off, storage in a temporary folder, instances uploaded
over the REST API, and the process stopped by its own pid.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

ORTHANC: Final = Path("/usr/sbin/Orthanc")
DICOMWEB_PLUGIN: Final = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
LOOPBACK: Final = "127.0.0.1"
USER: Final = "test"
PASSWORD: Final = "secret-orthanc-password"


def missing_reason() -> str | None:
    """Why Orthanc cannot run here, or ``None`` when it can."""
    if not ORTHANC.is_file():
        return f"{ORTHANC} is missing (Debian package orthanc)"
    if not DICOMWEB_PLUGIN.is_file():
        return f"{DICOMWEB_PLUGIN} is missing (Debian package orthanc-dicomweb)"
    return None


def only_loopback_network() -> bool:
    """True inside a network namespace whose only interface is ``lo``."""
    try:
        return {name for _, name in socket.if_nameindex()} <= {"lo"}
    except OSError:
        return False


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def basic_authorization(user: str, password: str) -> str:
    """The value of an HTTP basic ``Authorization`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _die_with_parent() -> None:
    """In the child: ask Linux to end Orthanc when the test process dies, so a test
    run that is killed leaves no server behind (PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 is PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class UploadResult:
    """What Orthanc said about one uploaded file."""

    path: Path
    status: int
    orthanc_id: str = ""
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def stored(self) -> bool:
        return self.status == 200 and bool(self.orthanc_id)


class OrthancServer:
    """One Orthanc process with its own configuration and storage.

    Parameters
    ----------
    folder
        An empty temporary folder for the configuration, database and log.
    dicomweb_options
        Extra keys of the ``DicomWeb`` configuration section (for example
        ``{"SeriesMetadata": "MainDicomTags"}`` for reduced metadata).
    """

    def __init__(
        self, folder: Path, dicomweb_options: Mapping[str, Any] | None = None
    ) -> None:
        self.folder = folder
        self.port = free_loopback_port()
        self.dicomweb_options = dict(dicomweb_options or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "orthanc.log"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def authorization(self) -> str:
        return basic_authorization(USER, PASSWORD)

    def configuration(self) -> dict[str, Any]:
        storage = str(self.folder / "db")
        dicomweb: dict[str, Any] = {
            "Enable": True,
            "Root": "/dicom-web/",
            "Host": f"{LOOPBACK}:{self.port}",
            "Ssl": False,
        }
        dicomweb.update(self.dicomweb_options)
        return {
            "Name": "displaysets-tests",
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "Plugins": [str(DICOMWEB_PLUGIN)],
            "HttpPort": self.port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {USER: PASSWORD},
            "DicomServerEnabled": False,
            "WebDavEnabled": False,
            "OrthancExplorerEnabled": False,
            "OverwriteInstances": True,
            "DicomWeb": dicomweb,
        }

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until its REST API answers."""
        config = self.folder / "orthanc.json"
        config.write_text(json.dumps(self.configuration(), indent=2))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(ORTHANC), str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.folder,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Orthanc exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                status, _ = self.request("GET", "/system")
            except OSError:
                status = 0
            if status == 200:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"Orthanc did not answer within {timeout} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def request(
        self, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, bytes]:
        """One REST call with the test user's credentials; (status, body)."""
        request = urllib.request.Request(
            self.url + path,
            data=body,
            method=method,
            headers={"Authorization": self.authorization},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    def upload(self, path: Path) -> UploadResult:
        """``POST /instances`` with the file's bytes; refused files are expected."""
        status, body = self.request("POST", "/instances", path.read_bytes())
        result = UploadResult(path, status)
        if status == 200:
            try:
                answer = json.loads(body)
            except ValueError:
                answer = {}
            if isinstance(answer, dict):
                result.answer = answer
                result.orthanc_id = str(answer.get("ID", ""))
        return result

    def stop(self) -> None:
        """SIGTERM to the pid, then SIGKILL if it does not exit within 10 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

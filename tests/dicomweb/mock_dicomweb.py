"""A tiny scripted HTTP server on 127.0.0.1 for the DICOMweb error tests.

Each path answers from a list of scripted replies, one per request, the last one
repeated; every request is recorded with its headers so tests can check what was sent.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/dicom+json"
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, document: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(document).encode())


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]


@dataclass
class MockDicomWeb:
    """Scripted replies keyed by request path (query string included)."""

    replies: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    reply_type: ClassVar[type[Reply]] = Reply

    @staticmethod
    def serve_another() -> Any:
        """A second mock server on another port (another origin)."""
        return serve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dicom-web"

    def script(self, path: str, *replies: Reply) -> None:
        self.replies["/dicom-web" + path] = list(replies)

    def paths(self) -> list[str]:
        return [r.path.removeprefix("/dicom-web") for r in self.requests]

    def next_reply(self, path: str) -> Reply:
        queue = self.replies.get(path)
        if not queue:
            return Reply(404, b'{"error": "not scripted"}', "application/json")
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(mock: MockDicomWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            mock.requests.append(Recorded(self.path, dict(self.headers.items())))
            reply = mock.next_reply(self.path)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("mock DICOMweb: " + format, *args)

    return Handler


@contextmanager
def serve(routes: Sequence[tuple[str, Sequence[Reply]]] = ()) -> Iterator[MockDicomWeb]:
    """Run a mock server on a free loopback port for the duration of the block."""
    mock = MockDicomWeb()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mock))
    server.daemon_threads = True
    mock.port = int(server.server_address[1])
    for path, replies in routes:
        mock.script(path, *replies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mock
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""HTTP plumbing of the DICOMweb source: one session, bounded retries, safe errors.

Every request of a source goes through one ``requests`` session that carries the
user's headers, counts the requests it sends and strips those headers when a redirect
leaves the server's origin. :class:`RetryingCaller` retries timeouts, dropped
connections and 408/429/5xx answers a bounded number of times with exponential
backoff, turns 401/403 into :class:`~displaysets.errors.AuthenticationError` and every
other failure into :class:`DicomWebError`; no message ever carries a header value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import urlsplit

from displaysets.errors import AuthenticationError, SourceError

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRIED_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth asking again: the server is busy or briefly broken."""
MAX_BACKOFF: Final = 8.0
"""Longest pause between two attempts, in seconds."""


class DicomWebError(SourceError):
    """A DICOMweb request failed; the message names the URL and the reason only."""


class MalformedAnswer(DicomWebError):
    """The server answered, but not with what DICOMweb prescribes."""


@dataclass
class RequestCounter:
    """How many HTTP requests a session has sent (retries and redirects included),
    and the ``Warning`` header of the last answer (a truncated QIDO-RS result)."""

    sent: int = 0
    warning: str = ""


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Validate user headers; errors name the header, never its value."""
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not name or not name.isascii():
            raise ValueError(f"invalid HTTP header name {name!r}")
        if any(c in name for c in ":\r\n \t"):
            raise ValueError(f"invalid HTTP header name {name!r}")
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise ValueError(
                f"the value of HTTP header {name!r} is not a one-line text"
            )
        checked[name] = value.strip()
    return checked


def make_session(
    headers: Mapping[str, str], counter: RequestCounter
) -> requests.Session:
    """A session sending ``headers`` on every request and counting requests."""
    import requests

    names = frozenset(name.lower() for name in headers)

    class _Session(requests.Session):
        def send(
            self, request: requests.PreparedRequest, **kwargs: Any
        ) -> requests.Response:
            counter.sent += 1
            response = super().send(request, **kwargs)
            counter.warning = response.headers.get("Warning", "")
            return response

        def rebuild_auth(
            self,
            prepared_request: requests.PreparedRequest,
            response: requests.Response,
        ) -> None:
            super().rebuild_auth(prepared_request, response)
            old_url = response.request.url or ""
            new_url = prepared_request.url or ""
            if origin(old_url) != origin(new_url):
                # Credentials are for the server the user named, not where it points.
                for name in list(prepared_request.headers):
                    if name.lower() in names:
                        del prepared_request.headers[name]

    session = _Session()
    session.headers.update(headers)
    return session


class RetryingCaller:
    """Calls a request function with bounded retries and safe error messages.

    Parameters
    ----------
    timeout
        Seconds to wait for the server (connect and each read), given to requests.
    retries
        How many times a failed attempt is repeated; ``0`` means one attempt only.
    backoff
        Pause before the first repeat in seconds; doubled before each further one,
        at most :data:`MAX_BACKOFF`.
    """

    def __init__(self, timeout: float, retries: int, backoff: float) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.timeout = timeout
        self.retries = retries
        self.backoff = max(0.0, backoff)
        self.sleep: Callable[[float], None] = time.sleep

    def call(self, url: str, request: Callable[[], T]) -> T:
        """Run ``request`` (which fetches ``url``) and return its result.

        Raises
        ------
        AuthenticationError
            The server answered 401 or 403.
        MalformedAnswer
            The answer could not be decoded (bad JSON, bad multipart body).
        DicomWebError
            Any other failure, after the retries for the retriable ones.
        """
        import requests

        attempts = self.retries + 1
        reason = ""
        for attempt in range(1, attempts + 1):
            try:
                return request()
            except requests.HTTPError as error:
                status = error.response.status_code if error.response is not None else 0
                if status in (401, 403):
                    raise AuthenticationError(_refused(url, status)) from None
                if status not in RETRIED_STATUSES:
                    raise DicomWebError(
                        f"{url}: {_status_text(error.response)}"
                    ) from None
                reason = _status_text(error.response)
            except requests.Timeout:
                reason = f"no answer within {self.timeout:g} s"
            except requests.ConnectionError:
                reason = "connection failed"
            except requests.JSONDecodeError as error:
                raise MalformedAnswer(
                    f"{url}: answer is not valid JSON ({error})"
                ) from None
            except requests.RequestException as error:
                raise DicomWebError(
                    f"{url}: request failed ({type(error).__name__})"
                ) from None
            except ValueError as error:
                raise MalformedAnswer(f"{url}: malformed answer ({error})") from None
            if attempt < attempts:
                pause = min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1))
                logger.info(
                    "%s: %s; attempt %d of %d, again in %.2g s",
                    url,
                    reason,
                    attempt,
                    attempts,
                    pause,
                )
                self.sleep(pause)
        raise DicomWebError(f"{url}: {reason} (tried {attempts} times)")


def _refused(url: str, status: int) -> str:
    what = "needs credentials" if status == 401 else "refused access"
    return f"{url}: the server {what} (HTTP {status}); check the headers given"


def _status_text(response: requests.Response | None) -> str:
    if response is None:
        return "HTTP error"
    reason = response.reason if isinstance(response.reason, str) else ""
    return f"HTTP {response.status_code} {reason}".strip()

"""A DICOMweb server (QIDO-RS and WADO-RS) as a data source, built on dicomweb-client.

A scan costs one QIDO-RS search for studies (none when the studies are named), one
QIDO-RS search for the series of each study and one WADO-RS metadata request per
series, never one per instance. The DICOM JSON answers are converted with the same
tolerant converter as DICOM JSON files, so handlers see the same datasets as from local
files: bulk values stay out of the metadata and their presence is recorded. Content is
fetched lazily, with the same headers, when a handler loads it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from pydicom import datadict

from displaysets.errors import AuthenticationError, ContentError, SourceError
from displaysets.model import Instance
from displaysets.records import Severity
from displaysets.sources.base import DataSource, Problem, ScanProgress
from displaysets.sources.dicomjson import (
    convert_object,
    pixel_data_left_out,
    without_value_validation,
)
from displaysets.sources.dicomweb_http import (
    DicomWebError,
    MalformedAnswer,
    RequestCounter,
    RetryingCaller,
    check_headers,
    make_session,
    origin,
)
from displaysets.sources.dicomweb_multipart import Part, split_parts
from displaysets.sources.reading import BULK_KEYWORDS, MEDIA_STORAGE_DIRECTORY

if TYPE_CHECKING:
    import requests
    from dicomweb_client import DICOMwebClient
    from pydicom.dataset import Dataset

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds to wait for the server to connect and for each read."""
DEFAULT_RETRIES: Final = 3
"""Repeats of a request that timed out or got a 408, 429 or 5xx answer."""
DEFAULT_BACKOFF: Final = 0.5
"""Seconds before the first repeat; doubled before each further one."""
MAX_QIDO_PAGES: Final = 1000
"""Upper bound on follow-up QIDO-RS pages requested after a truncation warning."""

INSTANCE_ACCEPT: Final = (
    'multipart/related; type="application/dicom"; transfer-syntax=*'
)
BULK_ACCEPT: Final = (
    'multipart/related; type="application/octet-stream"; transfer-syntax=*'
)

_BULK_TAGS: Final[dict[int, str]] = {
    int(datadict.tag_for_keyword(k) or 0): k for k in BULK_KEYWORDS
}
_SINGLE_VALUED_TEXT: Final = frozenset({"ST", "LT", "UT"})


@dataclass(frozen=True)
class InstanceKey:
    """Where an instance lives on the server, and the metadata object it came from."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    metadata: dict[str, Any]
    full: bool = False
    """True when the metadata was fetched per instance, as complete as it gets."""


def _split_userinfo(url: str) -> tuple[str, str | None]:
    """The URL without ``user:password@`` and a basic Authorization value for it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return clean, "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _join_split_texts(obj: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Rejoin ST, LT and UT values a server split at backslashes.

    These VRs hold exactly one value in which a backslash is an ordinary character;
    some servers cut it into several. Returns a copy and the number of repairs.
    """
    repairs = 0

    def walk(node: dict[str, Any]) -> dict[str, Any]:
        nonlocal repairs
        result = {}
        for key, attribute in node.items():
            if isinstance(attribute, dict):
                value = attribute.get("Value")
                vr = attribute.get("vr")
                if (
                    vr in _SINGLE_VALUED_TEXT
                    and isinstance(value, list)
                    and len(value) > 1
                    and all(isinstance(v, str) or v is None for v in value)
                ):
                    joined = "\\".join(v or "" for v in value)
                    attribute = {**attribute, "Value": [joined]}
                    repairs += 1
                elif vr == "SQ" and isinstance(value, list):
                    items = [walk(v) if isinstance(v, dict) else v for v in value]
                    attribute = {**attribute, "Value": items}
            result[key] = attribute
        return result

    return walk(obj), repairs


def _without_bulk_uris(node: object) -> object:
    """``node`` with every BulkDataURI value blanked (they name where, not what)."""
    if isinstance(node, dict):
        return {
            k: ("" if k == "BulkDataURI" else _without_bulk_uris(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_without_bulk_uris(v) for v in node]
    return node


def _inline_length(attribute: object) -> int | None:
    if isinstance(attribute, dict) and isinstance(attribute.get("InlineBinary"), str):
        try:
            return len(base64.b64decode(attribute["InlineBinary"]))
        except ValueError:
            return None
    return None


def _uid_list(objects: list[Any], keyword: str) -> list[str]:
    """The first value of ``keyword`` in each QIDO-RS result object, in order."""
    key = f"{datadict.tag_for_keyword(keyword):08X}"
    found: list[str] = []
    for obj in objects:
        attribute = obj.get(key) if isinstance(obj, dict) else None
        value = attribute.get("Value") if isinstance(attribute, dict) else None
        first = value[0] if isinstance(value, list) and value else None
        if isinstance(first, str) and first and first not in found:
            found.append(first)
    return found


class DicomWebSource(DataSource):
    """The studies on a DICOMweb server.

    Parameters
    ----------
    url
        The DICOMweb root (for example ``https://host/dicom-web``). Credentials written
        into it (``user:password@``) are moved to a basic ``Authorization`` header.
    headers
        HTTP headers sent with every request, lazy content loads included (for example
        ``{"Authorization": "Bearer ..."}``). They never appear in ``repr``, messages,
        logs or JSON.
    study_instance_uids
        The studies to read; by default every study the server lists.
    timeout
        Seconds to wait for the server to connect and for each read.
    retries
        How many times a request that timed out, lost its connection or got a 408,
        429 or 5xx answer is repeated before the failure is reported.
    backoff
        Seconds before the first repeat, doubled before each further one (at most 8).

    Raises
    ------
    SourceError
        dicomweb-client is not installed.
    ValueError
        The URL is not an http(s) URL, or a header is not a valid one-line header.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        study_instance_uids: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
    ) -> None:
        super().__init__()
        if importlib.util.find_spec("dicomweb_client") is None:
            raise SourceError(
                "reading a DICOMweb server needs dicomweb-client: "
                "pip install 'displaysets[dicomweb]'"
            )
        url, userinfo = _split_userinfo(url.strip())
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) DICOMweb URL: {url}")
        if parts.query or parts.fragment:
            raise ValueError(f"a DICOMweb root URL has no query or fragment: {url}")
        self.url = url.rstrip("/")
        self.wado_root = self.url
        checked = check_headers(headers or {})
        if userinfo and not any(n.lower() == "authorization" for n in checked):
            checked["Authorization"] = userinfo
        self._headers = checked
        if isinstance(study_instance_uids, str):
            study_instance_uids = [study_instance_uids]
        self.study_instance_uids = tuple(
            u.strip() for u in study_instance_uids if u.strip()
        )
        self._caller = RetryingCaller(timeout, retries, backoff)
        self._counter = RequestCounter()
        self._session: requests.Session | None = None
        self._client: DICOMwebClient | None = None
        self._series_reduced: dict[tuple[str, str], bool] = {}
        self._series_without_instance_metadata: dict[tuple[str, str], str] = {}
        self.series_read = 0
        self.series_failed = 0

    # -- plumbing ------------------------------------------------------------------

    @property
    def description(self) -> str:
        return self.url

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far (every attempt counts)."""
        return self._counter.sent

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(self._headers, self._counter)
        return self._session

    def _dicomweb(self) -> DICOMwebClient:
        if self._client is None:
            from dicomweb_client import DICOMwebClient

            client = DICOMwebClient(
                self.url,
                session=self._http(),
                timeout=self._caller.timeout,
                permissive_uid=True,
            )
            client.set_http_retry_params(retry=False)  # retries are ours, bounded
            self._client = client
        return self._client

    def _get(self, url: str, accept: str) -> requests.Response:
        """A plain GET through the source's session; raises for 4xx and 5xx."""
        if origin(url) != origin(self.url):
            raise DicomWebError(
                f"{url}: not on {self.url}; not requested with the source's headers"
            )
        response = self._http().get(
            url, headers={"Accept": accept}, timeout=self._caller.timeout
        )
        response.raise_for_status()
        return response

    def _study_url(self, study: str) -> str:
        return f"{self.url}/studies/{quote(study, safe='')}"

    def _series_url(self, study: str, series: str) -> str:
        return f"{self._study_url(study)}/series/{quote(series, safe='')}"

    def _instance_url(self, study: str, series: str, sop: str) -> str:
        return f"{self._series_url(study, series)}/instances/{quote(sop, safe='')}"

    @staticmethod
    def _key(instance: Instance) -> InstanceKey:
        key = instance.source_key
        if not isinstance(key, InstanceKey):
            raise ContentError(
                f"{instance.location}: not an instance of a DICOMweb source"
            )
        return key

    # -- QIDO-RS -------------------------------------------------------------------

    def _search(self, url: str, search: Callable[[int | None], list[Any]]) -> list[Any]:
        """All results of a QIDO-RS search, following truncation warnings."""
        results: list[Any] = []
        for _ in range(MAX_QIDO_PAGES):
            offset = len(results) or None
            self._counter.warning = ""

            def page_at(offset: int | None = offset) -> list[Any]:
                return search(offset)

            page = self._caller.call(url, page_at)
            if not isinstance(page, list) or not all(isinstance(o, dict) for o in page):
                raise MalformedAnswer(
                    f"{url}: QIDO-RS answer is not an array of objects"
                )
            results.extend(page)
            if not page or not self._counter.warning:
                return results
            logger.info("%s: the server truncated its answer; asking for more", url)
        return results

    def _study_uids(self) -> list[str]:
        if self.study_instance_uids:
            return list(self.study_instance_uids)
        client = self._dicomweb()
        found = self._search(
            f"{self.url}/studies",
            lambda offset: client.search_for_studies(offset=offset),
        )
        return _uid_list(found, "StudyInstanceUID")

    def _series_uids(self, study: str) -> list[str]:
        client = self._dicomweb()
        found = self._search(
            f"{self._study_url(study)}/series",
            lambda offset: client.search_for_series(study, offset=offset),
        )
        return _uid_list(found, "SeriesInstanceUID")

    # -- WADO-RS metadata ----------------------------------------------------------

    def _series_metadata(self, study: str, series: str) -> list[Any]:
        client = self._dicomweb()
        url = f"{self._series_url(study, series)}/metadata"
        objects = self._caller.call(
            url, lambda: client.retrieve_series_metadata(study, series)
        )
        if not isinstance(objects, list):
            raise MalformedAnswer(f"{url}: WADO-RS metadata is not an array of objects")
        return objects

    def iter_instances(
        self,
        report: Callable[[Problem], None],
        progress: ScanProgress | None = None,
    ) -> Iterator[Instance]:
        """Yield the instances of every series; a series that fails is reported.

        Raises
        ------
        AuthenticationError
            The server refused the headers (HTTP 401 or 403).
        """
        try:
            studies = self._study_uids()
        except AuthenticationError:
            raise
        except DicomWebError as error:
            report(
                Problem(
                    self.url,
                    _code(error, "SOURCE_UNAVAILABLE"),
                    Severity.ERROR,
                    str(error),
                )
            )
            return
        all_series: list[tuple[str, str]] = []
        for study in studies:
            try:
                series_uids = self._series_uids(study)
            except AuthenticationError:
                raise
            except DicomWebError as error:
                report(
                    Problem(
                        self._study_url(study),
                        _code(error, "STUDY_UNAVAILABLE"),
                        Severity.ERROR,
                        str(error),
                    )
                )
                continue
            if not series_uids:
                report(
                    Problem(
                        self._study_url(study),
                        "STUDY_EMPTY",
                        Severity.WARNING,
                        "the server lists no series for this study",
                    )
                )
            all_series.extend((study, series) for series in series_uids)

        for done, (study, series) in enumerate(all_series, 1):
            yield from self._read_series(study, series, report)
            if progress is not None:
                progress(done, len(all_series))

    def _read_series(
        self, study: str, series: str, report: Callable[[Problem], None]
    ) -> Iterator[Instance]:
        location = f"{self._series_url(study, series)}/metadata"
        try:
            objects = self._series_metadata(study, series)
        except AuthenticationError:
            raise
        except DicomWebError as error:
            self.series_failed += 1
            report(
                Problem(
                    location,
                    _code(error, "SERIES_UNAVAILABLE"),
                    Severity.ERROR,
                    str(error),
                )
            )
            return
        self.series_read += 1
        for number, obj in enumerate(objects, 1):
            where = f"{location}#{number}"
            if not isinstance(obj, dict):
                report(
                    Problem(
                        where,
                        "MALFORMED_ANSWER",
                        Severity.ERROR,
                        f"metadata item is a JSON {type(obj).__name__}, not an object",
                    )
                )
                continue
            self.files_seen += 1
            instance = self._instance(obj, study, series, where, report)
            if instance is not None and not instance.sop_class_uid:
                instance = self._without_reduction(instance, report)
            if instance is not None:
                yield instance

    def _without_reduction(
        self, instance: Instance, report: Callable[[Problem], None]
    ) -> Instance:
        """The instance with full metadata when the series metadata lacks even the
        SOP Class UID, which dispatch cannot do without."""
        key = self._key(instance)
        series_key = (key.study_instance_uid, key.series_instance_uid)
        first = series_key not in self._series_reduced
        self._series_reduced[series_key] = True
        try:
            fuller = self.full_metadata(instance)
        except AuthenticationError:
            raise
        except DicomWebError as error:
            report(
                Problem(
                    instance.location,
                    "METADATA_INCOMPLETE",
                    Severity.WARNING,
                    str(error),
                )
            )
            return instance
        if first:
            report(
                Problem(
                    self._series_url(*series_key),
                    "REDUCED_METADATA",
                    Severity.INFO,
                    "the series metadata lacks SOP Class UIDs; instance metadata is "
                    "fetched one by one",
                )
            )
        return fuller or instance

    def _instance(
        self,
        obj: dict[str, Any],
        study: str,
        series: str,
        where: str,
        report: Callable[[Problem], None] | None,
        *,
        full: bool = False,
    ) -> Instance | None:
        """An instance of one metadata object, or ``None`` when it is not one."""
        repaired, joined = _join_split_texts(obj)
        if joined:
            logger.debug("%s: %d split ST/LT/UT value(s) rejoined", where, joined)
        try:
            with without_value_validation():
                dataset, converter = convert_object(repaired)
        except Exception as error:  # the converter is tolerant; this is a last resort
            if report is not None:
                report(
                    Problem(
                        where,
                        "MALFORMED_ANSWER",
                        Severity.ERROR,
                        f"cannot read: {error}",
                    )
                )
            return None
        sop = str(dataset.get("SOPInstanceUID") or "").strip()
        if not sop:
            if report is not None:
                report(
                    Problem(
                        where,
                        "MISSING_SOP_INSTANCE_UID",
                        Severity.ERROR,
                        "metadata object without SOP Instance UID; cannot be fetched",
                    )
                )
            return None
        if dataset.get("SOPClassUID") == MEDIA_STORAGE_DIRECTORY:
            return None
        # The server found the object under this study and series: where they are
        # missing from the metadata, the path says what they are.
        if not dataset.get("StudyInstanceUID"):
            dataset.StudyInstanceUID = study
        if not dataset.get("SeriesInstanceUID"):
            dataset.SeriesInstanceUID = series

        bulk: dict[str, int | None] = {}
        for tag, keyword in _BULK_TAGS.items():
            attribute = obj.get(f"{tag:08X}")
            if attribute is None:
                continue
            bulk[keyword] = _inline_length(attribute)
            if tag in dataset:
                del dataset[tag]
        if pixel_data_left_out(dataset, bulk):
            # Some servers (Orthanc) leave encapsulated Pixel Data out of the metadata
            # altogether; the Image Pixel module says it is there.
            bulk["PixelData"] = None

        location = self._instance_url(study, series, sop)
        instance = Instance(
            dataset=dataset,
            location=location,
            source=self,
            bulk_data=bulk,
            source_key=InstanceKey(study, series, sop, obj, full),
            bulk_data_uris=converter.bulk_data_uris,
        )
        for note in converter.notes:
            if report is not None:
                report(Problem(location, "INVALID_ATTRIBUTE", Severity.WARNING, note))
            instance.add_message(
                "INVALID_ATTRIBUTE", Severity.WARNING, f"{location}: {note}"
            )
        return instance

    # -- reduced metadata ----------------------------------------------------------

    def metadata_is_reduced(self, instance: Instance) -> bool:
        """True until the per-instance metadata of the series proved no fuller."""
        key = instance.source_key
        if not isinstance(key, InstanceKey) or key.full:
            return False
        reduced = self._series_reduced.get(
            (key.study_instance_uid, key.series_instance_uid)
        )
        return reduced is not False

    def full_metadata(self, instance: Instance) -> Instance | None:
        """The instance with its WADO-RS instance-level metadata.

        The first call for a series compares the answer with the series-level
        metadata: when it adds no attribute, the series is taken as complete and
        later instances are not fetched again.
        """
        key = self._key(instance)
        if key.full:
            return None
        client = self._dicomweb()
        study, series, sop = (
            key.study_instance_uid,
            key.series_instance_uid,
            key.sop_instance_uid,
        )
        url = f"{self._instance_url(study, series, sop)}/metadata"

        def fetch() -> object:
            try:
                return client.retrieve_instance_metadata(study, series, sop)
            except IndexError:
                raise MalformedAnswer(f"{url}: empty metadata array") from None

        series_key = (study, series)
        failed = self._series_without_instance_metadata.get(series_key)
        if failed:
            # One failure per series is enough: the rest are not asked for again.
            raise DicomWebError(f"{url}: not fetched, since {failed}")
        try:
            obj = self._caller.call(url, fetch)
            if not isinstance(obj, dict):
                raise MalformedAnswer(f"{url}: metadata is not a JSON object")
            fuller = self._instance(obj, study, series, url, None, full=True)
            if fuller is None or fuller.sop_instance_uid != instance.sop_instance_uid:
                raise MalformedAnswer(f"{url}: metadata of another instance")
        except AuthenticationError:
            raise
        except DicomWebError as error:
            self._series_without_instance_metadata[series_key] = str(error)
            raise
        gained = set(fuller.dataset.keys()) - set(instance.dataset.keys())
        if not self._series_reduced.get(series_key):
            self._series_reduced[series_key] = bool(gained)
        for message in instance.messages:
            fuller.add_message(message.code, message.severity, message.text)
        return fuller

    # -- content -------------------------------------------------------------------

    def wado_uri(self, instance: Instance) -> str | None:
        key = instance.source_key
        if not isinstance(key, InstanceKey):
            return None
        return self._instance_url(
            key.study_instance_uid, key.series_instance_uid, key.sop_instance_uid
        )

    def _fetch_parts(self, url: str, accept: str) -> list[Part]:
        def fetch() -> list[Part]:
            response = self._get(url, accept)
            parts = split_parts(
                response.headers.get("Content-Type", ""), response.content
            )
            if not parts:
                raise MalformedAnswer(f"{url}: multipart answer without parts")
            return parts

        try:
            return self._caller.call(url, fetch)
        except AuthenticationError:
            raise
        except DicomWebError as error:
            raise ContentError(str(error)) from None

    def open_dataset(self, instance: Instance) -> Dataset:
        """Fetch the whole instance with WADO-RS (multipart or single part).

        Raises
        ------
        ContentError
            The server did not deliver one readable DICOM instance.
        AuthenticationError
            The server refused the headers.
        """
        import pydicom

        url = self.wado_uri(instance) or instance.location
        self._key(instance)
        parts = self._fetch_parts(url, INSTANCE_ACCEPT)
        if len(parts) != 1:
            raise ContentError(
                f"{url}: expected one instance, the server sent {len(parts)}"
            )
        part = parts[0]
        if part.media_type not in ("application/dicom", "application/octet-stream"):
            raise ContentError(
                f"{url}: the server sent {part.media_type}, not application/dicom"
            )
        try:
            return pydicom.dcmread(io.BytesIO(part.content), force=True)
        except Exception as error:
            raise ContentError(
                f"{url}: the answer is not a readable DICOM instance: {error}"
            ) from None

    def bulk_data(self, instance: Instance, keyword: str) -> bytes:
        """The bytes of one top-level bulk value (``EncapsulatedDocument``, ...).

        Uses the value's BulkDataURI when it points at this server, else fetches the
        whole instance.

        Raises
        ------
        ContentError
            The instance has no such value, or the server did not deliver it.
        """
        if keyword not in instance.bulk_data:
            raise ContentError(f"{instance.location}: has no {keyword}")
        tag = int(datadict.tag_for_keyword(keyword) or 0)
        uri = instance.bulk_data_uris.get(f"({tag >> 16:04X},{tag & 0xFFFF:04X})")
        if uri:
            target = urljoin(f"{instance.location}/", uri)
            if origin(target) == origin(self.url):
                parts = self._fetch_parts(target, BULK_ACCEPT)
                return b"".join(p.content for p in parts[:1])
            logger.info(
                "%s: BulkDataURI of %s points at another server; fetching the instance",
                instance.location,
                keyword,
            )
        dataset = self.open_dataset(instance)
        if keyword not in dataset:
            raise ContentError(
                f"{instance.location}: the server's copy has no {keyword}"
            )
        value = dataset[keyword].value
        return bytes(value) if value is not None else b""

    def frames(self, instance: Instance, frame_numbers: Sequence[int]) -> list[bytes]:
        """Frames (1-based numbers) of an instance, as the server stores them.

        Raises
        ------
        ContentError
            A bad frame number, or the server sent a different number of frames.
        """
        numbers = [int(n) for n in frame_numbers]
        if not numbers or min(numbers) < 1:
            raise ContentError(f"{instance.location}: frame numbers start at 1")
        url = f"{self.wado_uri(instance)}/frames/{','.join(str(n) for n in numbers)}"
        self._key(instance)
        parts = self._fetch_parts(url, BULK_ACCEPT)
        if len(parts) != len(numbers):
            raise ContentError(
                f"{url}: asked for {len(numbers)} frame(s), got {len(parts)}"
            )
        return [p.content for p in parts]

    def fingerprint(self, instance: Instance) -> str:
        key = instance.source_key
        if not isinstance(key, InstanceKey):
            return super().fingerprint(instance)
        data = _without_bulk_uris(key.metadata)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _code(error: DicomWebError, default: str) -> str:
    return "MALFORMED_ANSWER" if isinstance(error, MalformedAnswer) else default

"""A small client of Statuspage's HTTP APIs: the management API (v1, with a key) and a page's
public JSON and feeds.

It paces its requests (Statuspage allows one per second per key), waits and retries when told
to slow down (HTTP 420 or 429, honouring Retry-After) and on passing server errors, and pages
through lists. The key travels in the Authorization header only; no message names it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from app.importers.source import SourceError

DEFAULT_API_URL = "https://api.statuspage.io/v1"
RATE_LIMITED = (420, 429)  # Statuspage answers 420 ("enhance your calm") or 429
SERVER_ERRORS = (500, 502, 503, 504)
MAX_WAIT = 60.0  # seconds, for one back-off
MAX_PAGES = 100_000  # a server that ignores the page parameter must not loop us forever
Sleep = Callable[[float], None]


class StatuspageClient:
    """GET JSON from one base URL with pacing, back-off and retries."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        max_rate: float = 1.0,
        page_size: int = 100,
        rate_limit_retries: int = 8,
        error_retries: int = 3,
        timeout: float = 30.0,
        sleep: Sleep = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "pharos-import", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"OAuth {api_key}"
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self._interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self._rate_limit_retries = rate_limit_retries
        self._error_retries = error_retries
        self._sleep = sleep
        self._last: float | None = None
        self.requests = 0
        self.waited = 0.0  # seconds spent backing off (rate limits and errors)
        self._http = httpx.Client(
            headers=headers, timeout=timeout, transport=transport, follow_redirects=True
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> StatuspageClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _pace(self) -> None:
        now = time.monotonic()
        if self._last is not None and self._interval:
            gap = self._interval - (now - self._last)
            if gap > 0:
                self._sleep(gap)
        self._last = time.monotonic()

    def _wait(self, seconds: float) -> None:
        self.waited += seconds
        self._sleep(seconds)

    def fetch(
        self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False
    ) -> httpx.Response | None:
        """One GET, retried as needed; None for a 404 when missing_ok."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        limited = failed = 0
        while True:
            self._pace()
            self.requests += 1
            try:
                response = self._http.get(url, params=params)
            except httpx.TransportError as exc:
                failed += 1
                if failed > self._error_retries:
                    raise SourceError(f"GET {_shown(url)}: {type(exc).__name__}: {exc}") from exc
                self._wait(min(2.0**failed, MAX_WAIT))
                continue
            if response.status_code in RATE_LIMITED:
                limited += 1
                if limited > self._rate_limit_retries:
                    raise SourceError(
                        f"GET {_shown(url)}: still rate limited after {limited - 1} retries; "
                        "run the import again later (it continues where it stopped)"
                    )
                self._wait(retry_after(response, default=min(2.0**limited, MAX_WAIT)))
                continue
            if response.status_code in SERVER_ERRORS:
                failed += 1
                if failed > self._error_retries:
                    raise SourceError(f"GET {_shown(url)}: HTTP {response.status_code}")
                self._wait(min(2.0**failed, MAX_WAIT))
                continue
            if response.status_code == 404 and missing_ok:
                return None
            if response.status_code in (401, 403):
                raise SourceError(
                    f"GET {_shown(url)}: HTTP {response.status_code}: the API key was refused "
                    "(check the key and that it may read this page)"
                )
            if response.status_code >= 400:
                raise SourceError(f"GET {_shown(url)}: HTTP {response.status_code}")
            return response

    def get_json(
        self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False
    ) -> Any:
        """The JSON answer of one GET (None for a 404 when missing_ok)."""
        response = self.fetch(path, params, missing_ok=missing_ok)
        if response is None:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(f"GET {_shown(str(response.url))}: the answer is not JSON") from exc

    def pages(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        size_param: str = "per_page",
        first_page: int = 1,
    ) -> Iterator[list[Any]]:
        """Each page of a list answer, until a short or empty page."""
        seen: set[str] = set()
        for number in range(first_page, first_page + MAX_PAGES):
            query = {**(params or {}), "page": number, size_param: self.page_size}
            items = self.get_json(path, query)
            if not isinstance(items, list):
                raise SourceError(f"GET {path}: expected a list, got {type(items).__name__}")
            ids = {str(i.get("id")) for i in items if isinstance(i, dict)}
            if ids and ids <= seen:  # the server ignored the page number
                return
            seen |= ids
            if items:
                yield items
            if len(items) < self.page_size:
                return

    def all(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> list[Any]:
        """Every item of a paged list."""
        return [item for page in self.pages(path, params, **kw) for item in page]


def retry_after(response: httpx.Response, *, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), else default."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_WAIT)


def _shown(url: str) -> str:
    """A URL for messages: without a query string."""
    return url.split("?", 1)[0]

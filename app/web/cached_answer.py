"""One cached answer: its bytes in every content coding, validators, and how a read of it is
answered (200 in the best coding, or 304). Used by app.web.render_cache."""

from __future__ import annotations

import contextlib
import gzip
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import cached_property, lru_cache

import brotli
from starlette.types import Scope, Send

from app.web import conditional

CACHE_CONTROL = conditional.CACHE_CONTROL.encode()
# Headers the cache sets itself on every answer, or never shares between readers.
_OWN_HEADERS = {
    b"set-cookie",
    b"content-length",
    b"content-encoding",
    b"etag",
    b"cache-control",
    b"vary",
    b"date",
    b"server",
}
_COMPRESSIBLE = (
    b"text/",
    b"application/json",
    b"application/xml",
    b"application/rss+xml",
    b"application/atom+xml",
    b"image/svg+xml",
    b"application/javascript",
)
MIN_COMPRESS = 256  # bytes; below this, compression costs more than it saves
Header = tuple[bytes, bytes]
TextHeader = tuple[str, str]
HIT = ("x-pharos-cache", "hit")


@dataclass(frozen=True)
class Rendered:
    """One address's answer, in every encoding we serve."""

    status: int
    headers: list[Header]
    body: bytes
    gzip: bytes | None
    br: bytes | None
    etag: bytes  # strong, of the identity body: b'"abc..."'
    last_modified: float | None  # POSIX seconds, for If-Modified-Since
    version: int
    rendered_at: float  # time.monotonic()
    vary_language: bool = False  # read in the language the reader's Accept-Language chooses

    @property
    def size(self) -> int:
        """Bytes held in memory."""
        return len(self.body) + len(self.gzip or b"") + len(self.br or b"")

    def variant_etag(self, encoding: bytes | None) -> bytes:
        """A distinct strong ETag per content coding, as RFC 9110 asks."""
        if encoding is None:
            return self.etag
        return self.etag[:-1] + b"-" + encoding + b'"'

    @cached_property
    def answers(self) -> dict[bytes | None, tuple[bytes, list[Header], list[Header]]]:
        """Per content coding: the body, the 200 headers and the 304 headers, built once."""
        out = {}
        for encoding, body in ((None, self.body), (b"gzip", self.gzip), (b"br", self.br)):
            if body is None:
                continue
            common = [(b"etag", self.variant_etag(encoding)), (b"cache-control", CACHE_CONTROL)]
            vary = [b"Accept-Encoding"] if self.gzip is not None else []
            if self.vary_language:
                vary.append(b"Accept-Language")
            if vary:
                common.append((b"vary", b", ".join(vary)))
            full = [*self.headers, *common, (b"content-length", str(len(body)).encode())]
            if encoding is not None:
                full.append((b"content-encoding", encoding))
            brief = [h for h in self.headers if h[0] != b"content-type"] + common
            out[encoding] = (body, full, brief)
        return out

    @cached_property
    def hit_answers(self) -> dict[bytes | None, tuple[bytes, list[TextHeader], list[TextHeader]]]:
        """`answers` as a hit is sent over granian's RSGI (app.rsgi): headers as text, with
        `X-Pharos-Cache: hit`. Empty when a header is not ASCII (RSGI would send it as UTF-8,
        not as these bytes): such answers are sent the ASGI way."""
        out = {}
        for encoding, (body, full, brief) in self.answers.items():
            texts = []
            for headers in (full, brief):
                if not all(name.isascii() and value.isascii() for name, value in headers):
                    return {}
                texts.append([(k.decode(), v.decode()) for k, v in headers] + [HIT])
            out[encoding] = (body, texts[0], texts[1])
        return out


@dataclass
class Collected:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)


def compress(content_type: bytes, body: bytes) -> tuple[bytes | None, bytes | None]:
    if len(body) < MIN_COMPRESS or not content_type.startswith(_COMPRESSIBLE):
        return None, None
    # Middle levels: brotli's top quality takes seconds on a large page (about 4 ms per KB),
    # and renders must stay quick; these give most of the saving at tens of ms per MB.
    gz = gzip.compress(body, compresslevel=6, mtime=0)
    br = brotli.compress(body, quality=6)
    return gz, br


@lru_cache(maxsize=256)  # readers send few distinct values
def accepted_codings(accept_encoding: bytes) -> frozenset[bytes]:
    """Content codings the reader accepts (q=0 means refused)."""
    accepted = set()
    for part in accept_encoding.lower().split(b","):
        coding, _, params = part.strip().partition(b";")
        q = params.strip()
        if q.startswith(b"q="):
            try:
                if float(q[2:]) <= 0:
                    continue
            except ValueError:
                continue
        accepted.add(coding.strip())
    return frozenset(accepted)


@lru_cache(maxsize=256)
def preferred_codings(accept_encoding: bytes | None) -> tuple[bytes, ...]:
    """The content codings we serve that the reader accepts, best first."""
    if not accept_encoding:
        return ()
    accepted = accepted_codings(accept_encoding)
    return tuple(
        coding
        for coding, names in ((b"br", (b"br",)), (b"gzip", (b"gzip", b"x-gzip")))
        if any(name in accepted for name in names)
    )


def best_coding(rendered: Rendered, preferred: tuple[bytes, ...]) -> bytes | None:
    """The first of the `preferred` codings these bytes are kept in; None: identity."""
    for coding in preferred:
        if (rendered.br if coding == b"br" else rendered.gzip) is not None:
            return coding
    return None


def etag_matches(if_none_match: bytes, rendered: Rendered) -> bool:
    if if_none_match.strip() == b"*":
        return True
    tags = {t.strip().removeprefix(b"W/") for t in if_none_match.split(b",")}
    return any(rendered.variant_etag(e) in tags for e in (None, b"gzip", b"br"))


def not_modified_since(if_modified_since: bytes, rendered: Rendered) -> bool:
    if rendered.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since.decode("latin-1"))
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and int(rendered.last_modified) <= since.timestamp()


def package(
    collected: Collected, version: int, previous: Rendered | None, *, vary_language: bool = False
) -> Rendered:
    """The bytes of one render with their compressed variants and validators."""
    body = b"".join(collected.chunks)
    headers = [(k, v) for k, v in collected.headers if k not in _OWN_HEADERS]
    content_type = next((v for k, v in headers if k == b"content-type"), b"")
    last_modified = next((v for k, v in headers if k == b"last-modified"), None)
    etag = conditional.etag_of(body).encode()
    if previous is not None and previous.etag == etag:
        gz, br = previous.gzip, previous.br  # same bytes as before: no need to compress
    else:
        gz, br = compress(content_type.lower(), body)
    modified: float | None = None
    if last_modified is not None:
        with contextlib.suppress(TypeError, ValueError):
            modified = parsedate_to_datetime(last_modified.decode("latin-1")).timestamp()
    return Rendered(
        status=collected.status,
        headers=headers,
        body=body,
        gzip=gz,
        br=br,
        etag=etag,
        last_modified=modified,
        version=version,
        rendered_at=time.monotonic(),
        vary_language=vary_language,
    )


def choose(
    rendered: Rendered,
    accept_encoding: bytes | None,
    if_none_match: bytes | None,
    if_modified_since: bytes | None,
) -> tuple[bytes | None, bool]:
    """How to answer a read from these bytes: the best content coding the reader accepts
    (None: identity), and whether the answer is 304 Not Modified."""
    encoding = best_coding(rendered, preferred_codings(accept_encoding))
    return encoding, not_modified(rendered, if_none_match, if_modified_since)


def not_modified(
    rendered: Rendered, if_none_match: bytes | None, if_modified_since: bytes | None
) -> bool:
    """Whether a read with these validators is answered 304 (If-None-Match decides when sent)."""
    if if_none_match is not None:
        return etag_matches(if_none_match, rendered)
    return if_modified_since is not None and not_modified_since(if_modified_since, rendered)


async def send_answer(scope: Scope, send: Send, rendered: Rendered, how: bytes) -> bool:
    """Answer a read from these bytes, in the best coding the reader accepts; True for a 304."""
    accept_encoding = if_none_match = if_modified_since = None
    for name, value in scope["headers"]:  # the first of each, as app.rsgi reads them
        if name == b"accept-encoding":
            accept_encoding = accept_encoding or bytes(value)
        elif name == b"if-none-match":
            if_none_match = if_none_match or bytes(value)
        elif name == b"if-modified-since":
            if_modified_since = if_modified_since or bytes(value)
    encoding, not_modified = choose(rendered, accept_encoding, if_none_match, if_modified_since)
    body, headers, brief = rendered.answers[encoding]
    if not_modified:
        await send(
            {
                "type": "http.response.start",
                "status": 304,
                "headers": [*brief, (b"x-pharos-cache", how)],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return True
    await send(
        {
            "type": "http.response.start",
            "status": rendered.status,
            "headers": [*headers, (b"x-pharos-cache", how)],
        }
    )
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
    return False

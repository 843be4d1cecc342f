"""The `http` probe: GET or HEAD a URL, expecting a status, a latency and a body."""

from __future__ import annotations

import time

import httpx

from app.models import ComponentStatus
from app.probes.config import HttpProbe
from app.probes.outcome import Check, ProbeRun


async def run_http(probe: HttpProbe, http: httpx.AsyncClient) -> ProbeRun:
    """Request the URL once and judge the answer."""
    start = time.perf_counter()
    try:
        response = await http.request(probe.method, probe.url, timeout=probe.timeout)
    except httpx.TimeoutException as exc:
        check = Check("request", probe.url, False, None, "timeout", repr(exc))
        return ProbeRun(probe.name, ComponentStatus(probe.on_failure), [check], "down")
    except httpx.HTTPError as exc:
        check = Check("request", probe.url, False, None, "connect_error", repr(exc))
        return ProbeRun(probe.name, ComponentStatus(probe.on_failure), [check], "down")
    latency = (time.perf_counter() - start) * 1000
    if response.status_code not in probe.expect_status:
        detail = f"HTTP {response.status_code}, expected {probe.expect_status}"
        check = Check("request", probe.url, False, latency, f"http_{response.status_code}", detail)
        return ProbeRun(probe.name, ComponentStatus(probe.on_failure), [check], "down")
    if probe.body_contains is not None and probe.body_contains not in response.text:
        detail = f"body lacks {probe.body_contains!r}"
        check = Check("request", probe.url, False, latency, "body_mismatch", detail)
        return ProbeRun(probe.name, ComponentStatus(probe.on_partial_failure), [check], "stalled")
    slow = latency > probe.slow * 1000
    check = Check("request", probe.url, True, latency, slow=slow)
    if slow:
        return ProbeRun(probe.name, ComponentStatus(probe.on_slow), [check], "slow")
    return ProbeRun(probe.name, ComponentStatus.operational, [check])

"""The `metrics` probe: scrape a Prometheus text endpoint and check rules on its samples.

Rates need two scrapes, so a MetricsChecker keeps the previous scrape between runs; the
first run of a rate rule only records.
"""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.components.present import worst
from app.models import ComponentStatus
from app.probes.config import MetricRule, MetricsProbe
from app.probes.outcome import Check, ProbeRun

Samples = dict[str, float]  # "name{labels}" -> value


def _key(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def parse_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a Prometheus text exposition as (name, labels, value)."""
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def _sum(
    samples: list[tuple[str, dict[str, str], float]], name: str, labels: dict[str, str]
) -> float | None:
    """Sum of the samples with this name whose labels include `labels`; None if there are none."""
    values = [v for n, ls, v in samples if n == name and labels.items() <= ls.items()]
    return sum(values) if values else None


class MetricsChecker:
    """Runs one metrics probe, remembering the last scrape for rate rules."""

    def __init__(self, probe: MetricsProbe) -> None:
        self.probe = probe
        self._previous: tuple[float, Samples] | None = None

    def _value(
        self, rule: MetricRule, name: str, now: Samples, elapsed: float | None
    ) -> float | None:
        key = _key(name, rule.labels)
        if key not in now:
            return None
        if not rule.rate and rule.below_rate_of is None:
            return now[key]
        if self._previous is None or elapsed is None or elapsed <= 0:
            return None
        before = self._previous[1].get(key)
        if before is None or now[key] < before:  # a counter reset: skip one round
            return None
        return (now[key] - before) / elapsed

    def _judge(self, rule: MetricRule, now: Samples, elapsed: float | None) -> Check:
        target = _key(rule.metric, rule.labels)
        value = self._value(rule, rule.metric, now, elapsed)
        if value is None:
            if _key(rule.metric, rule.labels) not in now:
                return Check("rule", target, False, None, "metric_missing", "no such sample")
            return Check("rule", target, True, None, detail="first scrape: rate needs two")
        if rule.max is not None and value > rule.max:
            return Check("rule", target, False, None, "above_max", f"{value:g} > {rule.max:g}")
        if rule.min is not None and value < rule.min:
            return Check("rule", target, False, None, "below_min", f"{value:g} < {rule.min:g}")
        if rule.below_rate_of is not None:
            reference = self._value(rule, rule.below_rate_of, now, elapsed)
            if reference is not None and value < rule.ratio * reference:
                detail = (
                    f"rate {value:.3g}/s < {rule.ratio:g} x {rule.below_rate_of} {reference:.3g}/s"
                )
                return Check("rule", target, False, None, "rate_below", detail)
        return Check("rule", target, True, None, detail=f"{value:g}")

    async def run(self, http: httpx.AsyncClient) -> ProbeRun:
        """Scrape once and judge every rule."""
        probe = self.probe
        start = time.perf_counter()
        try:
            response = await http.get(probe.url, timeout=probe.timeout)
            response.raise_for_status()
            samples = parse_samples(response.text)
        except (httpx.HTTPError, ValueError) as exc:
            check = Check("scrape", probe.url, False, None, "scrape_failed", repr(exc))
            return ProbeRun(probe.name, ComponentStatus(probe.on_failure), [check], "down")
        latency = (time.perf_counter() - start) * 1000
        checks = [Check("scrape", probe.url, True, latency)]
        stamp = time.monotonic()
        now: Samples = {}
        for rule in probe.rules:
            for name in filter(None, (rule.metric, rule.below_rate_of)):
                total = _sum(samples, name, rule.labels)
                if total is not None:
                    now[_key(name, rule.labels)] = total
        elapsed = None if self._previous is None else stamp - self._previous[0]
        statuses = [ComponentStatus.operational]
        for rule in probe.rules:
            check = self._judge(rule, now, elapsed)
            checks.append(check)
            if not check.ok:
                statuses.append(ComponentStatus(rule.status))
        self._previous = (stamp, now)
        status = worst(statuses)
        problem = None if status == ComponentStatus.operational else "stalled"
        return ProbeRun(probe.name, status, checks, problem)

"""Probe kinds: which code runs a probe of each `kind`.

Adding a kind takes three steps: a config class in app/probes/config.py (a ProbeBase with a
`kind: Literal["..."]` field, added to the ProbeConfig union), a module with its run function,
and one entry in KINDS below mapping the kind to a factory. A factory is called once per probe
definition (with the runner's KindContext) and returns the coroutine function the runner calls
for every run; kinds that keep state between runs (the metrics probe's previous scrape) keep it
in that closure, or in a service the context carries (the OCPI poller). The config class's
budget() says how long one run may take.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx

from app.fleet.probe import OcpiPoller, check_ocpi
from app.probes.config import OcpiProbe, ProbeConfig
from app.probes.http import run_http
from app.probes.metrics import MetricsChecker
from app.probes.ocpp import run_ocpp16
from app.probes.ocpp2 import run_ocpp2
from app.probes.outcome import ProbeRun

RunOnce = Callable[[httpx.AsyncClient], Awaitable[ProbeRun]]


@dataclass(frozen=True)
class KindContext:
    """What the runner offers kinds that need more than their definition."""

    ocpi: OcpiPoller | None = None  # the fleet's poller; None: an ocpi probe only checks


Factory = Callable[[Any, KindContext], RunOnce]


def _ocpi(probe: OcpiProbe, context: KindContext) -> RunOnce:
    if context.ocpi is None:
        return partial(check_ocpi, probe)
    return partial(context.ocpi.run, probe)


KINDS: dict[str, Factory] = {
    "ocpp16": lambda probe, _: partial(run_ocpp16, probe),
    "ocpp201": lambda probe, _: partial(run_ocpp2, probe),
    "ocpp21": lambda probe, _: partial(run_ocpp2, probe),
    "http": lambda probe, _: partial(run_http, probe),
    "metrics": lambda probe, _: MetricsChecker(probe).run,
    "ocpi": _ocpi,
}


def run_once_for(probe: ProbeConfig, context: KindContext | None = None) -> RunOnce:
    """The function that runs this probe once (a fresh one per definition)."""
    try:
        factory = KINDS[probe.kind]
    except KeyError:  # a config class without a registered kind: a programming error
        raise LookupError(f"no runner registered for probe kind {probe.kind!r}") from None
    return factory(probe, context or KindContext())

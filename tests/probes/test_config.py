"""The probes file: the documented format loads; mistakes name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.probes.config import (
    HttpProbe,
    MetricsProbe,
    Ocpp16Probe,
    ProbeConfigError,
    load_probes,
    parse_duration,
)

EXAMPLE = """
[[probe]]
name = "ocpp-backend"
kind = "ocpp16"
component = "Cloud Services (OCPP)"      # component name or id; created if missing
url = "ws://127.0.0.1:9000/ocpp"
charge_point_ids = ["PHAROS-PROBE-1", "PHAROS-PROBE-2"]
interval = "15s"
timeout = "10s"
failures_to_open = 3
successes_to_recover = 2
quiet_period = "15m"                      # healthy time before Resolved
[probe.propagation]
url = "http://127.0.0.1:9001/chargers/{charge_point_id}"
json_pointer = "/last_status/info"        # where the nonce must appear
timeout = "30s"

[[probe]]
name = "csms-metrics"
kind = "metrics"
component = "Cloud Services (OCPP)"
url = "http://127.0.0.1:9001/metrics"
[[probe.rules]]
metric = "csms_queue_depth"
max = 100
status = "partial_outage"

[[probe]]
name = "api"
kind = "http"
component = "Charging API"
url = "https://api.example.com/health"
method = "HEAD"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "probes.toml"
    path.write_text(text)
    return path


def test_the_documented_example_loads(tmp_path: Path) -> None:
    ocpp, metrics, http = load_probes(write(tmp_path, EXAMPLE))
    assert isinstance(ocpp, Ocpp16Probe) and isinstance(metrics, MetricsProbe)
    assert isinstance(http, HttpProbe) and http.method == "HEAD"
    assert (ocpp.interval, ocpp.timeout, ocpp.quiet_period) == (15.0, 10.0, 900.0)
    assert ocpp.propagation is not None and ocpp.propagation.timeout == 30.0
    assert ocpp.backend_group == "probe:ocpp-backend"
    assert metrics.rules[0].status == "partial_outage"


@pytest.mark.parametrize(
    ("value", "seconds"), [("250ms", 0.25), ("15s", 15.0), ("15m", 900.0), ("1h", 3600.0), (5, 5.0)]
)
def test_durations(value: str | int, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('interval = "15s"', 'interval = "15 parsecs"'), 'probe "ocpp-backend": interval: '),
        (('interval = "15s"', 'interval = "-3s"'), "invalid duration"),
        (('timeout = "30s"', 'timeout = "soon"'), 'probe "ocpp-backend": propagation.timeout'),
        (('kind = "http"', 'kind = "smtp"'), "probe \"api\": (table): Input tag 'smtp'"),
        (('url = "ws://127.0.0.1:9000/ocpp"', 'url = "http://x/ocpp"'), "ws:// or wss://"),
        (("failures_to_open = 3", "failures_to_open = 0"), "failures_to_open"),
        (("failures_to_open = 3", "failure_to_open = 3"), "failure_to_open: Extra inputs"),
        (('json_pointer = "/last_status/info"', 'json_pointer = "last_status"'), "RFC 6901"),
        (('name = "api"', 'name = "ocpp-backend"'), "probe names must be unique"),
        (("max = 100", "labels = {}"), "a rule needs max, min or below_rate_of"),
        (('"PHAROS-PROBE-2"]', '"PHAROS-PROBE-1"]'), "charge point ids must be unique"),
    ],
)
def test_mistakes_name_the_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in EXAMPLE
    with pytest.raises(ProbeConfigError) as caught:
        load_probes(write(tmp_path, EXAMPLE.replace(old, new, 1)))
    assert message in str(caught.value)
    assert str(tmp_path / "probes.toml") in str(caught.value)


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(ProbeConfigError, match="can't read"):
        load_probes(tmp_path / "missing.toml")
    with pytest.raises(ProbeConfigError, match="not valid TOML"):
        load_probes(write(tmp_path, "[[probe]\nname ="))


def test_the_readme_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Automatic incidents from probes", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    loaded = load_probes(write(tmp_path, example))
    assert [p.kind for p in loaded] == ["ocpp16", "metrics", "http"]
    ocpp = loaded[0]
    assert isinstance(ocpp, Ocpp16Probe) and ocpp.command is not None

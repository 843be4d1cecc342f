"""Real protocol peers on loopback for the tests and the benchmarks: an OCPP central system,
a Statuspage stand-in. Not part of the service (not in the wheel)."""

"""Incidents, their timeline updates and postmortems."""

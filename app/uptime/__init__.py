"""Uptime history: daily rollups of the component status log, uptime %, calendars."""

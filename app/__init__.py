"""Pharos: incident status page and postmortem publishing service."""

"""Scheduled maintenance: planned work shown ahead of time, started and completed on schedule."""

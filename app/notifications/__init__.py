"""Telling subscribers: feeds, and (with an outbox) webhooks."""

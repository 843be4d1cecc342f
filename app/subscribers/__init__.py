"""Webhook subscribers: subscribing, quarantine, the delivery log."""

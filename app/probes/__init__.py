"""Probes of an OCPP charging backend whose results open, update and resolve incidents."""

"""Bringing pages over from other status page services (`pharos import`)."""

"""Plumbing that is truly dialect-neutral."""

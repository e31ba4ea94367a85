"""Hosted customer pages and web components (templates, static assets)."""

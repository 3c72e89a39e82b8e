"""Rendering the desk's memory into files: transcripts (Jinja2) and the SLA report's chart (matplotlib)."""

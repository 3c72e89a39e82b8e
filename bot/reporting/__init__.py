"""The desk's memory: transcripts of tickets and the SLA report, as plain data.

Pure computation over the core's domain; rendering (Jinja2 templates, matplotlib charts) lives
in adapters/render behind the Renderer protocols below, so the core imports neither.
"""

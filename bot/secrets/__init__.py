"""Secrets: credentials redacted from messages, and temporary access kept encrypted."""

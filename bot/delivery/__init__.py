"""Delivery: the outbox and its dispatcher, what a use case emits, catch-up after downtime."""

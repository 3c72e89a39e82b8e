"""Tickets: opening, the conversation, staff actions, customers' and staff's views."""

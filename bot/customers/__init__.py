"""Customers: linked accounts and their licences."""

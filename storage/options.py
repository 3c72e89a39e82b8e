"""Execution options a unit of work sets on its connection (storage/uow.py)."""

# False: the commit need not wait for the disk; a power cut (not a crash of the process) may undo
# it within a fraction of a second. SQLite: storage/sqlite_loop.py; PostgreSQL: the settle's
# statement (storage/outbox_repository.py).
DURABLE = "supportbot_durable"

"""The ticket core (`bot/`, every capability folder of it) imports no platform, database,
scheduler, template, chart or HTTP library: adapters, storage and supportbot wire those in."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
OUTSIDE_THE_CORE = {"discord", "slack_sdk", "slack_bolt", "sqlalchemy", "alembic", "asyncpg", "aiosqlite",
                    "aiohttp", "apscheduler", "jinja2", "matplotlib", "prometheus_client", "adapters", "storage",
                    "supportbot"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_the_core_imports_no_platform_or_database_library() -> None:
    modules = sorted(BOT.rglob("*.py"))
    assert len(modules) > 30 and any(p.parent != BOT for p in modules)  # the folders are walked too
    crossing = {str(p.relative_to(BOT)): sorted(imported(p) & OUTSIDE_THE_CORE) for p in modules}
    assert {module: names for module, names in crossing.items() if names} == {}


def test_the_check_sees_an_import_it_forbids(tmp_path: Path) -> None:
    module = tmp_path / "leaky.py"
    module.write_text("import sqlalchemy.orm\nfrom slack_sdk import WebClient\nfrom . import sibling\n")
    assert imported(module) & OUTSIDE_THE_CORE == {"sqlalchemy", "slack_sdk"}

"""Every setting is documented in .env.example, and nothing there is unknown."""

from pathlib import Path

from supportbot.settings import Settings


def test_env_example_lists_every_setting_with_a_comment():
    lines = (Path(__file__).parent.parent / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0].lstrip("# ").strip() for line in lines
                  if "=" in line and not line.startswith("# ---") and line.split("=", 1)[0].lstrip("# ").isupper()}
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from .env.example"
    assert documented - fields == set(), ".env.example names unknown settings"
    for i, line in enumerate(lines):
        if line and not line.startswith("#") and "=" in line:
            assert lines[i - 1].startswith("#"), f"{line.split('=')[0]} has no comment above it"

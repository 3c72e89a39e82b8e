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


def test_after_copying_env_example_the_console_still_works(tmp_path, monkeypatch, capsys):
    import shutil

    from supportbot.cli import main

    root = Path(__file__).parent.parent
    shutil.copy(root / ".env.example", tmp_path / ".env")  # as the README says
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    assert main(["console", "--script", str(root / "examples" / "demo.txt")]) == 0
    assert "Ticket #1 is open" in capsys.readouterr().out


def test_the_licence_api_answer_is_documented():
    root = Path(__file__).parent.parent
    for doc in (root / "README.md", root / ".env.example"):
        text = doc.read_text()
        assert '"expires_at": "2027-06-30"' in text and '"product": "seo-suite"' in text, doc.name

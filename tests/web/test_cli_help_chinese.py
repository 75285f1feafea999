"""Every command's and option's help text in `doudi --help` is Chinese (typer's own completion options aside)."""

from __future__ import annotations

from typing import Any

import typer

from doudi.cli import app
from tests.web.chinese import english_words

TYPER_OWN = {"install_completion", "show_completion"}


def _english(command: Any, path: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    if words := english_words(command.help or ""):
        found[path] = words
    for param in command.params:
        if param.name not in TYPER_OWN and (words := english_words(getattr(param, "help", None) or "")):
            found[f"{path} --{param.name}"] = words
    for name, sub in getattr(command, "commands", {}).items():
        found.update(_english(sub, f"{path} {name}"))
    return found


def test_every_command_helps_in_chinese() -> None:
    root = typer.main.get_command(app)
    assert "charity" in getattr(root, "commands", {})  # the walk reaches the domains' groups
    assert _english(root, "doudi") == {}

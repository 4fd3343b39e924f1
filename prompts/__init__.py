"""Versioned prompt files and their loader."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    text: str


def load(name: str) -> Prompt:
    """Load `prompts/<name>.md`; its first line is `version: <v>`."""
    raw = resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    first, _, rest = raw.partition("\n")
    if not first.startswith("version:"):
        raise ValueError(f"prompts/{name}.md must start with 'version: ...'")
    return Prompt(name=name, version=first.removeprefix("version:").strip(), text=rest.strip())

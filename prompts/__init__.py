"""Versioned prompt files: `prompts/<step>/v<N>.md`, each with YAML front matter, and the shared guide.

Front matter names the step, the version, the model it was written for, its output budget and, optionally,
the effort the model spends on it (`output_config.effort`: low, medium, high, xhigh or max; absent, the API's
default):

    ---
    name: classify
    version: 1
    model: claude-haiku-5-5
    effort: low
    max_tokens: 400
    ---

`[drafting.steps.<step>]` in the config file may override the model and the effort.

`guide.md` is the stable part every step's system prompt starts with (rules, style guide, examples), so the
same long prefix is sent on every call and read from the API's prompt cache.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

STEPS = ("classify", "extract", "score", "summarize", "draft", "breakup")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
_FILE = re.compile(r"^v(\d+)\.md$")


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class Prompt:
    name: str  # the step
    version: int
    model: str
    max_tokens: int
    text: str
    effort: str | None = None  # output_config.effort; None sends none (the API's default)

    @property
    def label(self) -> str:
        return f"{self.name}/v{self.version}"

    @property
    def sha(self) -> str:
        """Content hash: two outputs with the same hash came from the same words."""
        return hashlib.sha256(f"{guide()}\n\n{self.text}".encode()).hexdigest()[:12]


def _parse(raw: str, where: str) -> Prompt:
    if not raw.startswith("---\n"):
        raise PromptError(f"{where}: must start with YAML front matter between '---' lines")
    head, sep, body = raw[4:].partition("\n---\n")
    if not sep:
        raise PromptError(f"{where}: front matter is not closed with '---'")
    meta = yaml.safe_load(head) or {}
    missing = [k for k in ("name", "version", "model", "max_tokens") if k not in meta]
    if missing:
        raise PromptError(f"{where}: front matter lacks {', '.join(missing)}")
    effort = meta.get("effort")
    if effort is not None and effort not in EFFORTS:
        raise PromptError(f"{where}: effort {effort!r} is not one of {', '.join(EFFORTS)}")
    return Prompt(
        name=str(meta["name"]),
        version=int(meta["version"]),
        model=str(meta["model"]),
        max_tokens=int(meta["max_tokens"]),
        text=body.strip(),
        effort=effort,
    )


@cache
def guide() -> str:
    return resources.files(__package__).joinpath("guide.md").read_text(encoding="utf-8").strip()


@cache
def versions(step: str) -> dict[int, Prompt]:
    """Every version of a step's prompt, by number."""
    if step not in STEPS:
        raise PromptError(f"unknown step {step!r}; steps are {', '.join(STEPS)}")
    folder = resources.files(__package__).joinpath(step)
    found: dict[int, Prompt] = {}
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if not match:
            continue
        prompt = _parse(entry.read_text(encoding="utf-8"), f"prompts/{step}/{entry.name}")
        if prompt.name != step or prompt.version != int(match.group(1)):
            raise PromptError(f"prompts/{step}/{entry.name}: front matter says {prompt.label}")
        found[prompt.version] = prompt
    if not found:
        raise PromptError(f"prompts/{step}/ holds no v<N>.md file")
    return found


def load(step: str, version: int | None = None) -> Prompt:
    """A step's prompt: the given version, or the newest."""
    all_versions = versions(step)
    if version is None:
        return all_versions[max(all_versions)]
    if version not in all_versions:
        have = ", ".join(f"v{v}" for v in sorted(all_versions))
        raise PromptError(f"prompts/{step}/v{version}.md does not exist (there is {have})")
    return all_versions[version]


def catalog() -> list[Prompt]:
    return [p for step in STEPS for _, p in sorted(versions(step).items())]

"""The pipeline's narrow steps: what each answers, as pydantic models bound to the structured output.

Each step has one prompt file per version in `prompts/<step>/` and one output model here; the Claude engine
and the offline engine both return these models; the ledger records which one wrote each step.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from bot.drafting.classifier import Classification, LeadClass
from bot.records import Urgency

__all__ = [
    "STEP_OUTPUTS",
    "Classification",
    "DraftText",
    "Evidence",
    "Extraction",
    "LeadClass",
    "Scores",
    "Summary",
]


class Extraction(BaseModel):
    company: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=200)
    use_case: str | None = Field(default=None, max_length=400)
    urgency: Urgency = Urgency.MEDIUM
    team_size: str | None = Field(default=None, max_length=100)
    geography: str | None = Field(default=None, max_length=200)
    source: str | None = Field(default=None, max_length=100)
    likely_fit: str | None = Field(default=None, max_length=300)
    still_needed: list[str] = Field(default_factory=list, max_length=10)


class Evidence(BaseModel):
    score: int = Field(ge=0, le=100)
    evidence: list[str] = Field(default_factory=list, max_length=5)


class Scores(BaseModel):
    fit: Evidence
    intent: Evidence
    urgency: Evidence


class Summary(BaseModel):
    lines: list[str] = Field(min_length=3, max_length=3, description="exactly three short lines")

    @field_validator("lines")
    @classmethod
    def _not_blank(cls, lines: list[str]) -> list[str]:
        if any(not line.strip() for line in lines):
            raise ValueError("every summary line must say something")
        return lines


class DraftText(BaseModel):
    """The draft and break-up steps' answer."""

    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=2900)
    ask: str = Field(min_length=1, max_length=400, description="the one question or next step, from the body")
    source_ids: list[str] = Field(default_factory=list, max_length=10)


STEP_OUTPUTS: dict[str, type[BaseModel]] = {
    "classify": Classification,
    "extract": Extraction,
    "score": Scores,
    "summarize": Summary,
    "draft": DraftText,
    "breakup": DraftText,
}

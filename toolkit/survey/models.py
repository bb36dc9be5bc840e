"""One survey answer, validated before it is stored (`SurveyAnswer`), and the nine scores as typed input
(`SurveyScores`).

A score is a strict integer 1..4: a JSON ``true`` or ``3.0`` is not a score, and text from a form or a
command line ("3") goes through `parse_score`, which accepts exactly one digit 1..4. The comment is
optional and bounded (`MAX_COMMENT`); the command layer also holds it to the rules of free text (no
control characters) before it reaches this model.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from toolkit.domain.confidentiality import reporter_confidential
from toolkit.survey.ikm import ELEMENTS, SCORE_MAX, SCORE_MIN

MAX_COMMENT = 2000
Score = Annotated[int, Field(ge=SCORE_MIN, le=SCORE_MAX, strict=True)]
_FROZEN = ConfigDict(frozen=True, extra="forbid")


def surveyed(service: Any) -> bool:
    """Whether a closed ticket of ``service`` gets the survey: every service but one whose reporter the SOP
    keeps confidential (an incident report, "data pelapor dilindungi"): an answer would tie the reporter
    to marks about the staff who handled the report, and a report is not a request for a service."""
    return not reporter_confidential(service)


def parse_score(text: str | int, code: str) -> int:
    """A score typed as text ("1".."4", surrounding blanks ignored) or given as an int; a `ValueError`
    naming the element otherwise (0, 5, "x", "3.5", "", True)."""
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ValueError(f"{code}: a score is a whole number {SCORE_MIN}..{SCORE_MAX}")
    value = text.strip() if isinstance(text, str) else str(text)
    if len(value) != 1 or not SCORE_MIN <= (ord(value) - ord("0")) <= SCORE_MAX:
        raise ValueError(f"{code}: a score is a whole number {SCORE_MIN}..{SCORE_MAX}, not {str(text)[:20]!r}")
    return int(value)


class SurveyScores(BaseModel):
    """The nine answers, U1..U9 (`toolkit.survey.ikm.ELEMENTS`)."""

    model_config = _FROZEN
    u1: Score
    u2: Score
    u3: Score
    u4: Score
    u5: Score
    u6: Score
    u7: Score
    u8: Score
    u9: Score

    def by_code(self) -> dict[str, int]:
        """{"U1": score, ...} in the regulation's order."""
        return {code: getattr(self, code.lower()) for code in ELEMENTS}

    def values(self) -> tuple[int, ...]:
        return tuple(self.by_code().values())


class SurveyAnswer(BaseModel):
    """A stored answer: whose ticket, which service, who answered (the ticket's applicant) and when."""

    model_config = _FROZEN
    ticket_id: str = Field(min_length=1, max_length=64)
    service_id: str = Field(min_length=1, max_length=64)
    respondent: str = Field(min_length=1, max_length=64)
    answered_at: AwareDatetime
    scores: SurveyScores
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)

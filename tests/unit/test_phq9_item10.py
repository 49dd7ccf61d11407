"""PHQ-9 item 10 leaves every questionnaire without it as it was: the same canonical encoding,
so the same version (domain/sync.py), so one stored or queued offline before item 10 existed
replays as ``unchanged`` rather than as a refused change to a final entry."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec

from server.domain.instruments import AssessmentContent, check_assessment
from server.domain.sync import content_version

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TAKEN = "2026-03-01T10:00:00Z"


def test_a_nine_answer_phq9_keeps_its_version_from_before_item_10() -> None:
    before = (
        b'{"instrument":"phq9","answers":[1,1,1,1,1,0,0,0,0],"taken_at":"2026-03-01T10:00:00Z"}'
    )
    content = msgspec.json.decode(before, type=AssessmentContent)
    canonical, score = check_assessment(content, NOW)
    assert content_version(canonical) == hashlib.sha256(before).hexdigest()[:32]
    assert score.total == 5


def test_difficulty_is_part_of_the_content_and_not_of_the_score() -> None:
    plain = AssessmentContent(
        instrument="phq9",
        answers=[1, 1, 1, 1, 1, 0, 0, 0, 0],
        taken_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
    )
    hard = msgspec.structs.replace(plain, difficulty=3)
    (a, score_a), (b, score_b) = check_assessment(plain, NOW), check_assessment(hard, NOW)
    assert score_a == score_b
    assert content_version(a) != content_version(b)

"""The summary's SVG charts: accessible names, escaped text, and no inline style."""

from __future__ import annotations

from datetime import date, timedelta

from server.pwa.charts import clinician_mood as mood_chart
from server.pwa.charts import clinician_scores as scores_chart
from tests.helpers.records import checkin, infusion, phq9, summary


def test_charts_have_a_title_a_description_and_no_inline_style() -> None:
    result = summary(
        [checkin(n, 4 + n % 3) for n in range(40)],
        [phq9(1, 20), phq9(20, 9)],
        [infusion(5), infusion(8)],
        first=0,
        last=39,
    )
    for chart in (mood_chart(result), scores_chart(result)):
        svg = str(chart)
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
        assert "style=" not in svg and "<script" not in svg
    mood = str(mood_chart(result))
    assert "2 infusions on 2025-03-06, 2025-03-09" in mood
    assert mood.count('class="infusion"') == 2
    scores = str(scores_chart(result))
    assert "baseline 20" in scores and "50%: 10" in scores and "remission &lt; 5" in scores
    assert "-55% from baseline" in scores


def test_a_chart_without_data_says_so() -> None:
    empty = summary(first=0, last=0, today=0)
    assert "logged on 0 of 1 days" in str(mood_chart(empty))
    scores = str(scores_chart(empty))
    assert "No PHQ-9 yet" in scores and "no baseline" in scores
    long = summary(first=0, last=1000, today=1000)
    assert (date(2025, 3, 1) + timedelta(days=1000)).strftime("%b %Y") in str(mood_chart(long))

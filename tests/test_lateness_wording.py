"""Lateness reads the same everywhere, in the largest sensible unit (SCORING.md §9)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale

from vendortrack.templating import lateness


@pytest.mark.parametrize(
    ("late", "english", "polish"),
    [
        (timedelta(seconds=20), "1 min", "1 min"),
        (timedelta(minutes=35), "35 min", "35 min"),
        (timedelta(hours=2), "2 h", "2 godz."),
        (timedelta(hours=2, minutes=10), "2 h 10 min", "2 godz. 10 min"),
        (timedelta(hours=1, minutes=20), "1 h 20 min", "1 godz. 20 min"),
        (timedelta(hours=24), "1 day", "1 dzień"),
        (timedelta(hours=34), "1 day 10 h", "1 dzień 10 godz."),
        (timedelta(days=2, hours=12), "2 days 12 h", "2 dni 12 godz."),
        (timedelta(days=3, hours=5), "3 days", "3 dni"),
        (timedelta(days=12), "12 days", "12 dni"),
    ],
)
def test_lateness_is_written_in_the_largest_sensible_unit(app, late, english, polish):
    with app.test_request_context(), force_locale("en"):
        assert lateness(late) == english
    with app.test_request_context(), force_locale("pl"):
        assert lateness(late) == polish


def test_no_lateness_is_a_dash(app):
    with app.test_request_context():
        assert lateness(None) == "—"

"""JSON answers keep what Flask's own encoder wrote, now that orjson writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask import jsonify
from flask_babel import lazy_gettext


@dataclass
class Point:
    x: int
    y: int


def test_an_answer_has_sorted_keys_and_flasks_dates_decimals_dataclasses_and_translated_text(app):
    with app.test_request_context():
        response = jsonify(
            {
                "when": datetime(2026, 11, 22, 15, 30, tzinfo=UTC),
                "amount": Decimal("12.50"),
                "point": Point(1, 2),
                7: "seven",
                "hint": lazy_gettext("Give the commitment a title."),
                "name": "Łódź ünnep",
            }
        )
    assert response.mimetype == "application/json"
    assert response.get_data(as_text=True) == (
        '{"7":"seven","amount":"12.50","hint":"Give the commitment a title.","name":"Łódź ünnep",'
        '"point":{"x":1,"y":2},"when":"Sun, 22 Nov 2026 15:30:00 GMT"}'
    )


def test_numbers_past_what_orjson_writes_are_still_written_and_nan_is_null(app):
    with app.test_request_context():
        huge = jsonify({"page": 2**70}).get_data(as_text=True)
        odd = jsonify({"score": float("nan")}).get_data(as_text=True)
    assert json.loads(huge) == {"page": 2**70}
    assert json.loads(odd) == {"score": None}


def test_flasks_session_cookie_still_signs_and_reads_its_json(app):
    with app.test_client() as client:
        with client.session_transaction() as session:
            session["seen"] = ["pl", 3]
        with client.session_transaction() as session:
            assert session["seen"] == ["pl", 3]

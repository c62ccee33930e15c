"""The shapes of scores in the API: a vendor's full report and the ranked scorecard (SCORING.md)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from vendortrack.scores.rules import COUNT_KEYS, Outcome, Standing
from vendortrack.views.api.schemas import UTCDateTime, row_id

Band = fields.List(
    fields.Float(),
    validate=validate.Length(equal=2),
    metadata={"description": "[low, high]: the Wilson interval at 90 %."},
)
STANDINGS = [s.value for s in Standing]


class ScoreArgsSchema(Schema):
    as_of = UTCDateTime(metadata={"description": "The moment to score as of; now if left out."})
    contact_id = row_id(metadata={"description": "Score only the commitments logged with this contact."})


class ScorecardArgsSchema(Schema):
    as_of = UTCDateTime(metadata={"description": "The moment to score as of; now when left out."})
    category = fields.String(validate=validate.Length(max=80))
    standing = fields.String(validate=validate.OneOf(STANDINGS))
    order = fields.String(load_default="best", validate=validate.OneOf(["best", "worst"]))


class FiguresSchema(Schema):
    reliability = fields.Float(required=True)
    punctuality = fields.Float(required=True)
    reliability_band = fields.List(fields.Float(), required=True)
    punctuality_band = fields.List(fields.Float(), required=True)
    score = fields.Float(required=True)
    standing = fields.String(required=True, validate=validate.OneOf(STANDINGS))
    ranking_key = fields.Float(required=True)
    counted = fields.Integer(required=True, metadata={"description": "n: counted commitments, unweighted."})
    weight_total = fields.Float(required=True, metadata={"description": "N: the sum of their weights."})


CountsSchema = Schema.from_dict({key: fields.Integer(required=True) for key in COUNT_KEYS}, name="Counts")


class ResponsivenessSchema(Schema):
    """SCORING.md §10: how the vendor (or contact) answers complaints; beside the score, not in it."""

    value = fields.Float(required=True, metadata={"description": "(S_a + 1) / (N_c + 2)."})
    band = Band
    standing = fields.String(required=True, validate=validate.OneOf(STANDINGS))
    counted = fields.Integer(required=True)
    answered_in_time = fields.Integer(required=True)
    answered_late = fields.Integer(required=True)
    unanswered = fields.Integer(required=True)
    median_hours_to_answer = fields.Float(required=True, allow_none=True)
    owner_named = fields.Integer(required=True)
    dated_answers = fields.Integer(required=True)
    dated_answers_kept = fields.Integer(required=True)


class ContactScoreSchema(FiguresSchema):
    contact_id = fields.Integer(required=True)
    name = fields.String(required=True)
    responsiveness = fields.Nested(ResponsivenessSchema, required=True)


class TrendPointSchema(Schema):
    as_of = UTCDateTime(required=True)
    score = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "null before the vendor's first counted commitment: no point, not the prior's 50."
        },
    )
    standing = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(STANDINGS),
        metadata={"description": "null where score is null."},
    )


class ExplainSchema(Schema):
    commitment_id = fields.Integer(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    due_at = UTCDateTime(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in Outcome]))
    weight = fields.Float(required=True)
    f = fields.Float(required=True)
    p = fields.Float(required=True)


class ScoreSchema(FiguresSchema):
    vendor_id = fields.Integer(required=True)
    contact_id = fields.Integer(allow_none=True)
    as_of = UTCDateTime(required=True)
    counts = fields.Nested(CountsSchema, required=True)
    median_late_minutes_meetings = fields.Float(allow_none=True, required=True)
    median_late_hours_other = fields.Float(allow_none=True, required=True)
    excuses = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    longest_reschedule_chain = fields.Integer(required=True)
    contacts = fields.List(fields.Nested(ContactScoreSchema), required=True)
    trend = fields.List(fields.Nested(TrendPointSchema), required=True)
    explain = fields.List(fields.Nested(ExplainSchema), required=True)


class ScorecardLineSchema(FiguresSchema):
    vendor_id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    counts = fields.Nested(CountsSchema, required=True)


class ScorecardSchema(Schema):
    as_of = UTCDateTime(required=True)
    order = fields.String(required=True)
    items = fields.List(fields.Nested(ScorecardLineSchema), required=True)

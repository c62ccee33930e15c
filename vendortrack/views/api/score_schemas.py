"""The shapes of scores in the API: a vendor's full report and the ranked scorecard (SCORING.md)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from vendortrack.scores import scorecard
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
    responsiveness_standing = fields.String(
        validate=validate.OneOf(STANDINGS),
        metadata={"description": "Only the vendors whose responsiveness (SCORING.md §10) has this standing."},
    )
    order = fields.String(load_default="best", validate=validate.OneOf(["best", "worst"]))
    order_by = fields.String(
        load_default="score",
        validate=validate.OneOf(scorecard.ORDERS),
        metadata={"description": "Rank by the score's band, or by the responsiveness's band (§10)."},
    )


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


class NoticeSchema(Schema):
    """SCORING.md §11: how early the vendor warned of its moves, over the counted rescheduled ones."""

    median_hours = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "Median of due_at - notified_at, in hours; negative: told after the time."},
    )
    last_minute_moves = fields.Integer(
        required=True,
        metadata={"description": "Moves announced less than 24 hours ahead, or after the time."},
    )


class AskAnswersSchema(Schema):
    """How the vendor (or contact) answers what we ask through its links, measured at our server's
    clock. An ask counts once answered, or once the time a vendor has to answer a complaint has
    passed (SCORING.md §10's deadline); one revoked while the contact still had time never counts."""

    asks = fields.Integer(required=True, metadata={"description": "Counted asks."})
    answered = fields.Integer(required=True, metadata={"description": "Counted asks answered."})
    share_answered = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "answered / asks; null while no ask counts (not asked, or all waiting)."},
    )
    median_hours_to_answer = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "Median calendar hours from the ask to the first answer, over the answered."
        },
    )
    waiting = fields.Integer(
        required=True,
        metadata={
            "description": "Asked, not answered, not revoked and still within their time: not counted yet."
        },
    )


class ContactScoreSchema(FiguresSchema):
    contact_id = fields.Integer(required=True)
    name = fields.String(required=True)
    responsiveness = fields.Nested(ResponsivenessSchema, required=True)
    asks = fields.Nested(AskAnswersSchema, required=True)


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


class ComplaintExplainSchema(Schema):
    complaint_id = fields.Integer(required=True)
    title = fields.String(required=True)
    raised_at = UTCDateTime(required=True)
    deadline = UTCDateTime(required=True, metadata={"description": "Its answer deadline."})
    weight = fields.Float(required=True)
    a = fields.Float(required=True, metadata={"description": "1 when answered by the deadline, else 0."})


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
    responsiveness = fields.Nested(ResponsivenessSchema, required=True)
    notice = fields.Nested(NoticeSchema, required=True)
    asks = fields.Nested(
        AskAnswersSchema,
        required=True,
        metadata={"description": "Our asks through the vendor's links (the contact's, with contact_id)."},
    )
    explain_complaints = fields.List(
        fields.Nested(ComplaintExplainSchema),
        required=True,
        metadata={
            "description": "Each counted complaint behind the responsiveness, with its weight and credit."
        },
    )


class ScorecardLineSchema(FiguresSchema):
    vendor_id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    counts = fields.Nested(CountsSchema, required=True)
    responsiveness = fields.Nested(ResponsivenessSchema, required=True)
    notice = fields.Nested(NoticeSchema, required=True)
    asks = fields.Nested(AskAnswersSchema, required=True)


class ScorecardSchema(Schema):
    as_of = UTCDateTime(required=True)
    order = fields.String(required=True)
    order_by = fields.String(required=True)
    items = fields.List(fields.Nested(ScorecardLineSchema), required=True)

"""The scores: SCORING.md's rules (`rules`), the monthly sums that cache them (`tally`), the ranking
(`scorecard`).

Every rule of what counts, what is overdue and what each outcome earns is written once, in `rules`,
with the SQL expression built from it beside it where a query needs the same rule.
"""

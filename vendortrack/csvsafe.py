"""CSV cells a spreadsheet will show as text, never run as a formula (CSV injection)."""

from __future__ import annotations

# A cell a spreadsheet would read as a formula (OWASP's list): it gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """A cell as text, with a leading apostrophe where a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text

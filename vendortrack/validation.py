"""Input the app refuses: the one error (which field was wrong, what to tell the person), and the
rule for the characters text may hold.

Every layer raises the error (the ledger, accounts, vendors, the import) and every front end answers it in
kind: a page puts the message under the field, the API answers 422 naming it, the CLI prints it.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l


class InvalidInput(ValueError):
    """Input refused, with the name of the field that caused it; nothing was changed."""

    def __init__(self, field: str, message: Any):
        super().__init__(field, message)
        self.field = field
        self.message = message  # often a lazy string, translated when shown

    def __str__(self) -> str:
        return str(self.message)


# Control characters: C0, DEL and C1, as regular-expression classes. Text on several lines keeps tab
# and its line breaks (a browser sends a text area's as CR LF); one line of text (a name, a title, an
# address) keeps none of them.
_REFUSED = {
    False: r"\x00-\x1f\x7f-\x9f",
    True: r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f",
}
_FIND = {multiline: re.compile(f"[{chars}]") for multiline, chars in _REFUSED.items()}
_LINE_BREAKS = "\t\n\r"


def plain_text_pattern(*, multiline: bool = False) -> str:
    """check_plain_text's rule as a pattern, for the API's document: what a client may send."""
    return f"^[^{_REFUSED[multiline]}]*$"


def check_plain_text(field: str, text: str | None, *, multiline: bool = False) -> str | None:
    """`text` as given, or InvalidInput naming `field` if it holds a control character it may not.

    One rule for the forms, the API and the import: such characters are invisible on a page, and
    they make the HTML emails that quote names and titles invalid.
    """
    found = _FIND[multiline].search(text) if text else None
    if found is None:
        return text
    if found.group() in _LINE_BREAKS:
        raise InvalidInput(field, _l("Write this on one line, without line breaks or tabs."))
    code = f"U+{ord(found.group()):04X}"
    raise InvalidInput(
        field, _l("Remove the invisible character %(code)s: it often comes with pasted text.", code=code)
    )

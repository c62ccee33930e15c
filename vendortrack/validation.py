"""The one error for input the app refuses: which field was wrong, and what to tell the person.

Every layer raises it (the ledger, accounts, vendors, the import) and every front end answers it in
kind: a page puts the message under the field, the API answers 422 naming it, the CLI prints it.
"""

from __future__ import annotations

from typing import Any


class InvalidInput(ValueError):
    """Input refused, with the name of the field that caused it; nothing was changed."""

    def __init__(self, field: str, message: Any):
        super().__init__(field, message)
        self.field = field
        self.message = message  # often a lazy string, translated when shown

    def __str__(self) -> str:
        return str(self.message)

"""The translation catalogs as tests read them: what a page says in each language."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "vendortrack" / "translations"


@cache
def catalog(code: str) -> Catalog:
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=code)


def say(code: str, msgid: str) -> str:
    """`msgid` as the page shows it in `code`; English is the msgid itself."""
    if code == "en":
        return msgid
    message = catalog(code).get(msgid)
    assert message is not None and message.string, f"no {code} translation of {msgid!r}"
    return message.string if isinstance(message.string, str) else message.string[0]

"""Every message in the code and templates speaks Polish, Hungarian and Russian, with the right plurals.

The messages are extracted from the source at test time, the way `make messages` does, so a string
added without a translation fails here the day it is written, not when a user meets English.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from flask_babel import force_locale, ngettext

from tests.catalogs import catalog
from vendortrack.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [code for code in LANGUAGES if code != "en"]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%\((\w+)\)\.\d+f")


@cache
def source_messages() -> dict[tuple[str, str | None], str | None]:
    """(msgid, context) -> msgid_plural (or None) for every message in the code and templates."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    messages: dict[tuple[str, str | None], str | None] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            messages[message[0], context] = message[1]
        elif message:
            messages[message, context] = None
    return messages


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_the_source_has_messages_to_translate():
    # A broken extraction (a wrong babel.cfg) would find nothing and pass everything below.
    assert len(source_messages()) > 400
    assert ("Wrong email or password.", None) in source_messages()


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_has_a_translation(code):
    missing = []
    for msgid, context in source_messages():
        entry = catalog(code).get(msgid, context=context)
        forms = [] if entry is None else (entry.string if isinstance(entry.string, tuple) else [entry.string])
        if entry is None or entry.fuzzy or not forms or not all(form.strip() for form in forms):
            missing.append(msgid)
    assert not missing, f"{len(missing)} messages have no {code} translation, e.g. {missing[:5]}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_a_translation_keeps_every_placeholder(code):
    wrong = []
    for (msgid, context), plural in source_messages().items():
        entry = catalog(code).get(msgid, context=context)
        if entry is None or not entry.string:
            continue
        expected = placeholders(msgid) | placeholders(plural or "")
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for form in filter(None, forms):
            found = placeholders(form)
            # A singular may spell the one out ("jedna obietnica") instead of printing the count.
            if found != expected and not (plural and found == expected - {"num"}):
                wrong.append((msgid, form))
    assert not wrong, f"placeholders differ in {code}: {wrong[:5]}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_catalog_has_as_many_plural_forms_as_the_language(code):
    expected = {"pl": 3, "ru": 3, "hu": 2}[code]
    assert catalog(code).num_plurals == expected
    for message in catalog(code):
        if message.id and message.pluralizable and message.string:
            assert len(message.string) == expected, message.id


@pytest.mark.parametrize(
    ("code", "one", "few", "many"),
    [("pl", 1, 2, 5), ("ru", 1, 3, 11)],
)
def test_counted_nouns_take_each_plural_form(app, code, one, few, many):
    with app.test_request_context(), force_locale(code):
        said = [
            ngettext("%(num)d commitment counted", "%(num)d commitments counted", n) for n in (one, few, many)
        ]
    assert len(set(s.replace(str(n), "#") for s, n in zip(said, (one, few, many), strict=True))) == 3, said


def test_pages_follow_the_browsers_language(client):
    polish = catalog("pl").get("Sign in").string
    page = client.get("/auth/login", headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"})
    text = page.get_data(as_text=True)
    assert '<html lang="pl">' in text
    assert polish in text


def test_the_users_own_language_wins_over_the_browsers(client, session, editor):
    editor.locale = "hu"
    session.commit()
    client.login(editor)
    page = client.get("/auth/profile", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="hu">' in page
    assert catalog("hu").get("Your profile").string in page


def test_a_user_picks_a_language_on_the_profile(client, session, editor):
    client.login(editor)
    answer = client.submit(
        "/auth/profile", {"name": "", "timezone": "", "locale": "ru", "digest_enabled": "y"}
    )
    assert answer.status_code == 302
    session.refresh(editor)
    assert editor.locale == "ru"
    assert catalog("ru").get("Your profile is saved.").string in client.get("/auth/profile").get_data(
        as_text=True
    )


def test_an_unknown_language_is_refused_and_changes_nothing(client, session, editor):
    client.login(editor)
    answer = client.submit("/auth/profile", {"name": "", "timezone": "", "locale": "xx"})
    assert answer.status_code == 400
    session.refresh(editor)
    assert editor.locale is None


def test_figures_are_written_the_locales_way(app):
    from vendortrack.templating import decimal

    with app.test_request_context():
        with force_locale("pl"):
            assert decimal(87.25) == "87,2" or decimal(87.25) == "87,3"
            assert decimal(-3.0, signed=True) == "-3,0"
        with force_locale("en"):
            assert decimal(1234.5) == "1234.5"
            assert decimal(3.0, signed=True) == "+3.0"

"""The layers the README's Architecture section draws hold: a module imports only its own layer and
the ones below, nothing below the views reads the request, and the domain reads no app or clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vendortrack"

# Lowest first. A module is placed by the longest prefix of its dotted name found here.
LAYERS = {
    "database": (
        "database",
        "extensions",
        "unit_of_work",
        "validation",
        "timeutil",
        "jsonio",
        "csvsafe",
        "gunicorn_conf",
    ),
    "models": ("models",),
    "scores and ledger": ("scores", "ledger", "complaints"),
    "services": (
        "accounts",
        "vendors",
        "agenda",
        "audit",
        "throttle",
        "week",
        "importing",
        "backup",
        "export",
        "calendar_feed",
        "demo",
        "mail",
        "digest",
        "jobs",
        "charts",
        "i18n",
        "templating",
        "vendor_links",
    ),
    "views": ("views", "forms", "permissions", "errors", "security", "cli", "scheduler", "supervisor", ""),
}
RANK = {name: rank for rank, name in enumerate(LAYERS)}
# What a request brings: only the views may read it.
REQUEST_GLOBALS = {
    ("flask", "request"),
    ("flask", "session"),
    ("flask", "has_request_context"),
    ("flask_login", "current_user"),
}
# The domain is given its settings and its moment: it reads neither the app nor the clock.
DOMAIN = {"database", "models", "scores and ledger"}
DOMAIN_MODULES = {"week"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(part for part in parts if part != "__init__")


def layer_of(module: str) -> str:
    best, best_length = None, -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".") or prefix == ""
            if matches and len(prefix) > best_length:
                best, best_length = layer, len(prefix)
    return best


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every `from module import name`, and (module, "") for `import module`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def internal(module: str, name: str) -> str | None:
    """The vendortrack module an import reaches (a name imported from a package may be a module)."""
    if module != "vendortrack" and not module.startswith("vendortrack."):
        return None
    inner = module.removeprefix("vendortrack").removeprefix(".")
    candidate = f"{inner}.{name}" if inner else name
    is_module = (PACKAGE / candidate.replace(".", "/")).with_suffix(".py").exists() or (
        PACKAGE / candidate.replace(".", "/") / "__init__.py"
    ).exists()
    return candidate if name and is_module else inner


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    assert all(layer_of(module_name(path)) for path in MODULES)
    assert layer_of("scores.tally") == "scores and ledger" and layer_of("views.api.rows") == "views"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path) or "vendortrack")
def test_a_module_imports_only_its_own_layer_and_those_below(path):
    here = layer_of(module_name(path))
    higher = sorted(
        f"{target} ({layer_of(target)})"
        for module, name in imports(path)
        if (target := internal(module, name)) is not None and RANK[layer_of(target)] > RANK[here]
    )
    assert higher == [], f"{module_name(path)} ({here}) imports from a higher layer"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path) or "vendortrack")
def test_nothing_below_the_views_reads_the_request(path):
    if layer_of(module_name(path)) == "views":
        return
    read = sorted(f"{module}.{name}" for module, name in imports(path) if (module, name) in REQUEST_GLOBALS)
    assert read == [], f"{module_name(path)} reads what a request brings"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path) or "vendortrack")
def test_the_domain_is_given_its_settings_and_its_moment(path):
    module = module_name(path)
    if layer_of(module) not in DOMAIN and module not in DOMAIN_MODULES:
        return
    read = sorted(
        f"{module}.{name}"
        for module, name in imports(path)
        if (module, name) in {("flask", "current_app"), ("vendortrack.timeutil", "utcnow")}
    )
    assert read == [], f"{module} reads the app or the clock instead of being given them"


def test_the_walk_sees_a_violation_when_there_is_one(tmp_path):
    # A test that cannot fail is no test: the walk must catch a lower layer reaching up.
    bad = tmp_path / "bad.py"
    bad.write_text("from vendortrack.views import scorecards\nfrom flask import request\n")
    assert internal(*imports(bad)[0]) == "views.scorecards"
    assert ("flask", "request") in set(imports(bad)) & REQUEST_GLOBALS

"""The package's build step that compiles the translation catalogs (.po) into the .mo files Babel reads.

Every install compiles them, `pip install .` into the wheel and `pip install -e .` beside the .po
files in the checkout, so no way of installing the app serves English to everyone. At build time, not
at start-up: the service user need not be able to write to the code, and four workers and the
scheduler starting at once do not race to write the same files.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools.command.build_py import build_py

TRANSLATIONS = Path("vendortrack") / "translations"


def compile_catalogs(source: Path, target: Path | None = None) -> list[Path]:
    """Compile each catalog under `source`/vendortrack/translations into `target` (default: beside it).

    A .mo newer than its .po is left as it is. Returns the .mo files, and refuses to return none: a
    build without catalogs would install an app that quietly speaks English only.
    """
    target = target or source
    compiled = []
    for po in sorted((source / TRANSLATIONS).glob("*/LC_MESSAGES/messages.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as text:
                catalog = read_po(text)
            mo.parent.mkdir(parents=True, exist_ok=True)
            partial = mo.with_name(f".{mo.name}.tmp")
            with partial.open("wb") as binary:
                write_mo(binary, catalog)
            partial.replace(mo)  # whole or not at all, for a process reading it meanwhile
        compiled.append(mo)
    if not compiled:
        raise RuntimeError(f"no translation catalogs under {source / TRANSLATIONS}")
    return compiled


class BuildPy(build_py):
    """build_py, then the catalogs: into the wheel, or into the checkout for an editable install."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent
        compile_catalogs(source, None if self.editable_mode else Path(self.build_lib))

"""The watch every browser context keeps on its pages: each must fit its window and find its files.

A module of its own, not part of conftest.py: pytest imports conftest.py under a name of its own
(`browser.conftest`) while the tests import `tests.browser.conftest`, and a list of problems kept
there would be two lists, the fixture checking one while the pages report into the other.
"""

from __future__ import annotations

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 768}

# Run in every page before its own scripts; on load it reports a page wider than its window.
OVERFLOW_PROBE = """
window.addEventListener('load', () => {
  // A phone's browser widens its layout to fit what overflows, so innerWidth grows with the
  // content there: the screen's own width is the one to hold the page to.
  const window_width = Math.min(window.innerWidth, window.screen.width);
  const wide = document.documentElement.scrollWidth;
  if (wide > window_width) {
    console.error(`vendortrack-overflow ${location.pathname}${location.search}: `
                  + `${wide} px of content in a ${window_width} px window`);
  }
});
"""

# What the pages of this test broke; checked and emptied after each test.
problems: list[str] = []


def open_context(browser, live_server: str, **options):
    """A browser context on the live server whose every page is held to fit and to find its files."""
    options = {"locale": "en-GB", "timezone_id": "UTC", "viewport": DESK} | options
    context = browser.new_context(base_url=live_server, **options)
    context.add_init_script(OVERFLOW_PROBE)
    width = options["viewport"]["width"]

    def on_console(message) -> None:
        # The console also names files the response watch cannot see: the favicon Chromium asks for.
        if message.text.startswith("vendortrack-overflow") or (
            message.text.startswith("Failed to load resource") and " 404 " in message.text
        ):
            problems.append(
                f"{message.text} {message.location.get('url', '')} ({options['locale']}, {width} px)"
            )

    def on_response(response) -> None:
        if response.status == 404 and response.request.resource_type != "document":
            problems.append(f"404 for {response.url} ({options['locale']}, {width} px)")

    context.on("console", on_console)
    context.on("response", on_response)
    return context

"""The lifecycle page read back: as HTML (`read_page`), and as a real browser lays it out.

`read_page(path)` gives the page's tables (by id, as rows of cell texts), images and links.
`look_at(page)` copies the page with one added <script>, opens the copy with
`chromium --headless --dump-dom` and reads back what the script wrote into the DOM once the page
had loaded: its title, every image's natural width and the elements whose text is wider than
their box. The Chrome DevTools Protocol would need a websocket client, and a screenshot can only
be looked at, not asserted on; this needs nothing but the browser, and the page itself stays as
the project writes it (no script: it is mailed and attached to tickets).

Chromium starts with a fresh profile and everything that reaches the network off, so the check
is the same on a laptop and in CI, and nothing outside the temporary folder changes.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path


class Page(HTMLParser):
    """The tables (by id, as lists of cell texts), the images and the links of a page."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.text = ""
        self._table = self._cell = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attributes["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(attributes)
        elif tag in ("a", "link", "script"):
            self.links.append(tag)

    def handle_data(self, data):
        self.text += data
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(self._cell)
            self._cell = None
        elif tag == "table":
            self._table = None

    def records(self, table_id: str) -> list[dict[str, str]]:
        """The rows of a table as {header: cell text}."""
        header, *rows = self.tables[table_id]
        return [dict(zip(header, row)) for row in rows]


def read_page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


# Debian and Ubuntu name the binary `chromium` (`apt-get install chromium`), others differently.
BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NOT_INSTALLED = "no chromium binary: `apt-get install chromium` to check pages in a browser"
FLAGS = [
    "--headless",
    "--no-sandbox",  # as root (a CI container) Chromium refuses to start with its sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The id of the <pre> the probe below writes its findings into.
RESULT_ID = "browser-check"

# Runs once the page and its images have loaded; overflow is measured on boxes only (inline
# elements have no width of their own: their overflow shows in the box around them).
_PROBE = """
<script>
window.addEventListener("load", () => {
  const describe = (element) => ({
    tag: element.tagName.toLowerCase(),
    text: element.textContent.trim().slice(0, 80),
    scrollWidth: element.scrollWidth,
    clientWidth: element.clientWidth,
  });
  const overflowing = [...document.body.querySelectorAll("*")]
    .filter((element) => element.clientWidth > 0 && element.scrollWidth > element.clientWidth)
    .map(describe);
  const found = {
    title: document.title,
    viewportWidth: window.innerWidth,
    pageWidth: document.documentElement.scrollWidth,
    headings: [...document.querySelectorAll("h1, h2, h3")].map((h) => h.textContent),
    images: [...document.images].map((image) => ({
      alt: image.alt, complete: image.complete, naturalWidth: image.naturalWidth,
    })),
    overflowing,
  };
  const out = document.createElement("pre");
  out.id = "browser-check";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str | None:
    return next(filter(None, map(shutil.which, BINARIES)), None)


def look_at(page: Path, work: Path, width: int = 1280, timeout: float = 120) -> dict:
    """What Chromium saw of `page` in a window `width` pixels wide (see the module's text)."""
    work.mkdir(parents=True, exist_ok=True)
    probed = work / page.name
    probed.write_text(
        page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>", 1),
        encoding="utf-8",
    )
    command = [
        chromium() or BINARIES[0],
        *FLAGS,
        f"--user-data-dir={work / 'profile'}",
        f"--window-size={width},900",
        "--dump-dom",
        probed.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    found = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    if done.returncode != 0 or not found:
        raise AssertionError(f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}")
    return json.loads(html.unescape(found.group(1)))  # the dump escapes text as HTML does

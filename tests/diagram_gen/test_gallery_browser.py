"""The committed gallery (results/diagrams/*.html) in a real browser: Debian's headless
Chromium, driven by playwright, loads every page from a local HTTP server (127.0.0.1 only) and
takes a full-page screenshot of each as it opens (into tmp_path). A page fails on any console
error or page error, any request that fails or answers >= 400, any request that leaves the
loopback server (the pages must be self-contained), any image that does not decode
(naturalWidth 0, decode() rejects, or its bytes do not decode to the end), any local link
that does not answer 200 (or points at an id the target page lacks), any external link that
is not https, or a document wider than 1400 px at a 1400 px viewport with every <details>
opened. The matrix must show 18 guarantees x 6 kinds.

External links (the citations) are checked for form only: tests talk to loopback only.
Skipped only when /usr/bin/chromium is missing and CI is not "true" (set-up installs it);
under CI a missing browser fails. ``test_the_audit_fails_on_...`` proves the audit can fail.
"""
from __future__ import annotations

import functools
import http.server
import io
import os
import threading
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urldefrag, urlparse

import pytest
from PIL import Image

from diagram_gen.catalogue import catalogue_file, load_catalogue
from diagram_gen.model import KIND_TYPES

REPO = Path(__file__).resolve().parents[2]
GALLERY = REPO / "results" / "diagrams"
SPECS = REPO / "diagram_gen" / "specs"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAX_WIDTH = 1400
#: [src, naturalWidth, error] per image; decode() also catches a truncated file whose header
#: still gives the size (naturalWidth alone does not)
DECODE_IMAGES = """async () => Promise.all(Array.from(document.images, async i => {
    try { await i.decode(); return [i.getAttribute('src'), i.src, i.naturalWidth, null]; }
    catch (e) { return [i.getAttribute('src'), i.src, i.naturalWidth, String(e)]; } }))"""


def _need_browser() -> None:
    why = None
    if not CHROMIUM.is_file():
        why = f"{CHROMIUM} is missing (harness/setup/setup.sh installs Debian's chromium package)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as e:
            why = f"the playwright package is missing ({e}); pip install -e '.[test]'"
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {why}")
    pytest.skip(why)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """``root`` over HTTP on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="gallery-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def html_pages(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html"))


class Audit:
    """Loads pages and collects every problem, as ``page: what``; ``ids`` and ``fragments``
    let links to ``page#id`` be checked once every page has been seen."""

    def __init__(self, context: Any, base: str, shots: Path) -> None:
        self.context, self.base, self.shots = context, base, shots
        self.problems: list[str] = []
        self.status: dict[str, int] = {}
        self.ids: dict[str, set[str]] = {}
        self.fragments: list[tuple[str, str, str]] = []
        self.external: set[str] = set()
        self.images: set[str] = set()

    def page(self, path: str) -> dict[str, Any]:
        """Load ``path``, check it, screenshot it; returns facts about the matrix (if any)."""
        page = self.context.new_page()
        bad = self.problems

        def local(url: str) -> bool:
            return url.startswith(self.base) or url.startswith("data:")

        def route(r: Any) -> None:
            if local(r.request.url):
                r.continue_()
            else:
                bad.append(f"{path}: requested {r.request.url} (pages must not reach the network)")
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: bad.append(f"{path}: console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: bad.append(f"{path}: page error: {e}"))
        page.on("requestfailed", lambda r: bad.append(f"{path}: request failed: {r.url} ({r.failure})")
                if local(r.url) else None)
        page.on("response", lambda r: bad.append(f"{path}: {r.url} answered {r.status}") if r.status >= 400 else None)
        try:
            page.goto(self.base + path, wait_until="load")
            for src, url, w, err in page.evaluate(DECODE_IMAGES):
                if not w or err:
                    bad.append(f"{path}: image {src} did not decode (naturalWidth {w}{'; ' + err if err else ''})")
                elif url.startswith(self.base):
                    self._whole_image(path, src, url)
            self.ids[self.base + path] = set(page.evaluate("Array.from(document.querySelectorAll('[id]'), e => e.id)"))
            for raw, url in page.evaluate("Array.from(document.querySelectorAll('a[href]'), "
                                          "a => [a.getAttribute('href'), a.href])"):
                self._link(path, raw, url)
            page.screenshot(path=str(self.shots / (path.replace("/", "__") + ".png")), full_page=True)
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > MAX_WIDTH:
                bad.append(f"{path}: {width} px wide at a {MAX_WIDTH} px viewport (details open)")
            return page.evaluate("""() => ({
                rows: Array.from(document.querySelectorAll('#matrix tr.guarantee'), r => r.id),
                cells: Array.from(document.querySelectorAll('#matrix td.cell'), c => [
                    c.dataset.guarantee, c.dataset.kind, c.classList.contains('built'),
                    c.querySelector('img') ? c.querySelector('img').getAttribute('src') : null, c.textContent.trim()]),
                perRow: Array.from(document.querySelectorAll('#matrix tr.guarantee'),
                                   r => r.querySelectorAll('td.cell').length)})""")
        finally:
            page.close()

    def _whole_image(self, path: str, src: str, url: str) -> None:
        """The served bytes decode to the end: a browser shows a truncated PNG (its header gives
        the size) as a partly blank picture without any error."""
        if url in self.images:
            return
        self.images.add(url)
        body = self.context.request.get(url).body()
        try:
            if url.endswith(".svg"):
                ET.fromstring(body)
            else:
                with Image.open(io.BytesIO(body)) as im:
                    im.load()
        except Exception as e:  # noqa: BLE001 - any decoder error is the finding
            self.problems.append(f"{path}: image {src} is damaged: {type(e).__name__}: {e}")

    def _link(self, path: str, raw: str, url: str) -> None:
        if not url.startswith(self.base):
            if urlparse(url).scheme != "https":
                self.problems.append(f"{path}: link {raw} is neither local nor https")
            self.external.add(url)
            return
        target, frag = urldefrag(url)
        if target not in self.status:
            self.status[target] = self.context.request.get(target).status
        if self.status[target] != 200:
            self.problems.append(f"{path}: link {raw} answered {self.status[target]}")
        elif frag:
            self.fragments.append((path, target, frag))

    def check_fragments(self) -> None:
        for path, target, frag in self.fragments:
            if target in self.ids and frag not in self.ids[target]:
                self.problems.append(f"{path}: link to {target}#{frag}: no element with that id")


def run_audit(root: Path, shots: Path) -> tuple[Audit, dict[str, dict[str, Any]]]:
    with serve(root) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": MAX_WIDTH, "height": 900})
        try:
            audit = Audit(context, base, shots)
            facts = {p: audit.page(p) for p in html_pages(root)}
            audit.check_fragments()
        finally:
            context.close()
    return audit, facts


def test_every_gallery_page_loads_cleanly_and_the_matrix_has_108_cells(tmp_path: Path) -> None:
    _need_browser()
    cat = load_catalogue(catalogue_file(SPECS), SPECS, REPO)
    pages = html_pages(GALLERY)
    assert pages == sorted(["index.html", *(f"{g.id}/index.html" for g in cat.guarantees)])
    audit, facts = run_audit(GALLERY, tmp_path)
    assert audit.problems == [], "\n".join(audit.problems)
    m = facts["index.html"]
    assert m["rows"] == [g.id for g in cat.guarantees] and len(m["rows"]) == 18
    assert m["perRow"] == [6] * 18 and len(m["cells"]) == 108
    assert [(g, k) for g, k, *_ in m["cells"]] == [(g.id, k) for g in cat.guarantees for k in KIND_TYPES]
    for g, k, built, src, text in m["cells"]:
        # a thumbnail exactly where the diagram's files exist, "not yet measured" elsewhere
        has_files = all((GALLERY / g / f"{k}.{ext}").is_file() for ext in ("svg", "png", "json"))
        assert built == has_files, (g, k)
        assert (src, text) == ((f"{g}/{k}.png", "") if has_files else (None, "not yet measured")), (g, k)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(p.replace("/", "__") + ".png" for p in pages)
    assert all(u.startswith("https://") for u in audit.external) and audit.external


def test_the_audit_fails_on_a_broken_image_a_dead_link_a_script_error_and_a_wide_page(tmp_path: Path) -> None:
    _need_browser()
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "ok.png").write_bytes((GALLERY / "linearizability" / "concept.png").read_bytes())
    (site / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (site / "cut.png").write_bytes((site / "ok.png").read_bytes()[:100])  # the header survives: it has a size
    (site / "index.html").write_text(
        '<!DOCTYPE html><html><body><img src="ok.png" width="10"><img src="broken.png"><img src="gone.png"><img src="cut.png">'
        '<a href="sub/index.html#there">ok</a><a href="sub/index.html#nowhere">no id</a><a href="missing.html">dead</a>'
        '<a href="http://example.org/">plain http</a><div style="width:2000px">wide</div>'
        "<script>console.error('planted')</script></body></html>")
    (site / "sub" / "index.html").write_text('<!DOCTYPE html><html><body><p id="there">x</p>'
                                             '<img src="https://example.org/x.png"></body></html>')
    audit, _ = run_audit(site, tmp_path)
    text = "\n".join(audit.problems)
    for needle in ("index.html: image broken.png did not decode", "index.html: image gone.png did not decode",
                   "index.html: image cut.png is damaged: OSError: image file is truncated",
                   "gone.png answered 404", "index.html: link missing.html answered 404",
                   "index.html: link to ", "#nowhere: no element with that id",
                   "index.html: link http://example.org/ is neither local nor https",
                   "index.html: 2", "px wide at a 1400 px viewport", "index.html: console error: planted",
                   "sub/index.html: requested https://example.org/x.png (pages must not reach the network)"):
        assert needle in text, f"{needle!r} not in:\n{text}"
    assert "image ok.png" not in text and "#there" not in text

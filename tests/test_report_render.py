"""report.html in headless Chromium: its four figures are really drawn, and nothing is fetched.

The report's <img> sources are swapped for solid-colour PNGs of the same pixel
size: that render has the same layout and shows where each figure sits. The
real render must show, in each box, the figure from the run folder (pixel
correlation); reports with corrupted, missing or shuffled figures must not.

Needs Chromium (Debian: apt-get install chromium-headless-shell). Without it the
tests skip, unless FMNIST_REQUIRE_CHROMIUM=1 (CI), where they fail.
"""

import base64
import html.parser
import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

WIDTH, HEIGHT = 1200, 6000  # window in CSS pixels (scale factor 1): the whole report fits
FIGURES = ("eval_corruptions", "eval_reliability", "eval_confusion", "eval_misclassified")  # page order
COLOURS = ((255, 0, 255), (0, 255, 0), (0, 0, 255), (255, 128, 0))  # placeholders, one per figure
MIN_CORRELATION = 0.9
CANDIDATES = ("chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell", "chromium",
              "chromium-browser", "google-chrome-stable", "google-chrome")


def find_chromium():
    """$FMNIST_CHROMIUM when set, else the first Chromium on PATH (or Debian's path); None when there is none."""
    names = (os.environ["FMNIST_CHROMIUM"],) if os.environ.get("FMNIST_CHROMIUM") else CANDIDATES
    return next(filter(None, map(shutil.which, names)), None)


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        where = f" at FMNIST_CHROMIUM={os.environ['FMNIST_CHROMIUM']}" if os.environ.get("FMNIST_CHROMIUM") else ""
        message = (f"no headless Chromium found{where}: apt-get install chromium-headless-shell "
                   "(or set FMNIST_CHROMIUM=/path/to/chromium)")
        if os.environ.get("FMNIST_REQUIRE_CHROMIUM") == "1":
            pytest.fail(message + "; FMNIST_REQUIRE_CHROMIUM=1 forbids skipping")
        pytest.skip(message)
    return path


def render(chromium, page, name):
    """Screenshot of `page` (an .html Path) as (HEIGHT, WIDTH, 3) uint8, and the URLs Chromium's network stack saw."""
    shot, netlog = page.with_name(f"{name}.png"), page.with_name(f"{name}.netlog.json")
    cmd = [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--force-device-scale-factor=1", f"--window-size={WIDTH},{HEIGHT}",
           "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}",
           f"--user-data-dir={page.with_name(name + '.profile')}", f"--screenshot={shot}", page.as_uri()]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr or ""
        pytest.fail(f"Chromium ran over 90 s on {page}\ncommand: {cmd}\nstderr:\n{stderr[-4000:]}")
    if proc.returncode != 0 or not shot.exists():
        pytest.fail(f"Chromium exited with {proc.returncode} and no screenshot of {page}\n"
                    f"command: {cmd}\nstderr:\n{proc.stderr[-4000:]}")
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (HEIGHT, WIDTH, 3), f"screenshot {shot} is {pixels.shape}, asked for {WIDTH}x{HEIGHT}"
    return pixels, fetched(netlog)


def fetched(netlog):
    """URLs the page asked Chromium's network stack for (a --log-net-log file); data: and file: left out.

    Requests the browser makes for itself (the full `chromium` phones home) have
    no initiator ("not an origin") and are not counted.
    """
    try:
        log = json.loads(netlog.read_text())
        start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    except (OSError, ValueError, KeyError) as e:
        pytest.fail(f"Chromium wrote no readable net log at {netlog}: {e!r}")
    params = [e.get("params", {}) for e in log["events"] if e.get("type") == start]
    urls = {p["url"] for p in params if "url" in p and p.get("initiator") != "not an origin"}
    return {u for u in urls if not u.startswith(("data:", "file:"))}


class _Links(html.parser.HTMLParser):
    """Tags and attributes that would make a browser load something."""

    LOADING_TAGS = {"script", "link", "iframe", "frame", "object", "embed", "base", "audio", "video", "source"}
    URL_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "background", "xlink:href"}

    def __init__(self):
        super().__init__()
        self.problems, self.images = [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.LOADING_TAGS:
            self.problems.append(f"<{tag}>")
        for key, value in attrs:
            if key in self.URL_ATTRS and not (value or "").startswith(("data:", "#")):
                self.problems.append(f"<{tag} {key}={value!r}>")
            if key == "style" and re.search(r"url\(|@import", value or "", re.I):
                self.problems.append(f"<{tag} style={value!r}>")
        if tag == "img":
            self.images.append(dict(attrs))


def external_references(text):
    parser = _Links()
    parser.feed(text)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", text, re.S | re.I)
    parser.problems += [f"<style> {m}" for s in styles for m in re.findall(r"url\([^)]*\)|@import[^;]*", s, re.I)]
    return parser.problems, parser.images


def with_sources(text, sources):
    """`text` with the i-th <img>'s src set to sources[i] (added when missing); everything else kept."""
    tags = iter(sources)

    def swap(match):
        src = f'src="{next(tags)}"'
        tag, n = re.subn(r'\ssrc="[^"]*"', " " + src, match.group(0), count=1)
        return tag if n else tag[:-1].rstrip("/ ") + f" {src}>"

    out, n = re.subn(r"<img\b[^>]*>", swap, text)
    assert n == len(sources), f"expected {len(sources)} <img> tags, found {n}"
    return out


def png_uri(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def find_box(pixels, colour):
    """(top, left, bottom, right) of the solid `colour` area; None when it is not a filled rectangle."""
    hit = (np.abs(pixels.astype(int) - colour) <= 8).all(axis=2)
    rows, cols = np.flatnonzero(hit.any(axis=1)), np.flatnonzero(hit.any(axis=0))
    if not len(rows):
        return None
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return (top, left, bottom, right) if hit[top:bottom, left:right].mean() > 0.98 else None


def correlation(pixels, box, figure):
    """Pearson correlation of the screenshot's box and the figure, both grey and shrunk 4x (box filter)."""
    top, left, bottom, right = box
    size = (max(1, (right - left) // 4), max(1, (bottom - top) // 4))
    shown = np.asarray(Image.fromarray(pixels[top:bottom, left:right]).convert("L").resize(size, Image.BOX), float)
    wanted = np.asarray(figure.resize(size, Image.BOX), float)
    if shown.std() < 1.0 or wanted.std() < 1.0:
        return 0.0
    return float(np.corrcoef(shown.ravel(), wanted.ravel())[0, 1])


@pytest.fixture(scope="module")
def report(chromium, tmp_path_factory, fmnist):
    """`python -m fmnist_keras.evaluation RUN` for a 1-epoch MLP on 2000 real images (200 test images, 2 corruptions).

    Returns the report's folder, its HTML, the four figures (grey, on white) and
    where a Chromium layout of the page puts each figure.
    """
    import keras

    from fmnist_keras.evaluation.cli import main
    from fmnist_keras.models import build_model

    (x, y), _ = fmnist
    keras.utils.set_random_seed(0)
    model = build_model("mlp", hidden=(32,))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:2000, :, :, None] / 255.0, y[:2000], epochs=1, batch_size=64, verbose=0)
    run = tmp_path_factory.mktemp("render_run")
    model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"recipe": "tiny", "model": "mlp", "seed": 0, "val_size": 10000}))
    argv = [str(run), "--limit", "200", "--corruptions", "fog,jpeg", "--severities", "1,5", "--tta", "none", "--quiet"]
    assert main(argv) == 0
    text = (run / "report.html").read_text(encoding="utf-8")
    figures = []
    for name in FIGURES:
        with Image.open(run / f"{name}.png") as png:
            rgba = png.convert("RGBA")
        white = Image.new("RGBA", rgba.size, "white")
        figures.append(Image.alpha_composite(white, rgba).convert("L"))
    placeholders = with_sources(text, [png_uri(Image.new("RGB", f.size, c)) for f, c in zip(figures, COLOURS)])
    (run / "placeholders.html").write_text(placeholders, encoding="utf-8")
    pixels, _ = render(chromium, run / "placeholders.html", "placeholders")
    boxes = [find_box(pixels, c) for c in COLOURS]
    for name, figure, box in zip(FIGURES, figures, boxes):
        assert box is not None, f"{name}: its placeholder is not one solid rectangle in the screenshot"
        top, left, bottom, right = box
        assert right - left >= min(figure.width, WIDTH // 2), f"{name} is shown {right - left} px wide"
        aspect = (bottom - top) / (right - left)
        assert abs(aspect - figure.height / figure.width) < 0.03, f"{name} is distorted or cut off"
        assert bottom < HEIGHT - 100, f"{name} ends at row {bottom}: raise HEIGHT so the report fits"
    return run, text, figures, boxes


def scores(chromium, report, text, name):
    """Rendered `text` (a report variant): the figure correlations per box, and the URLs fetched."""
    run, _, figures, boxes = report
    (run / f"{name}.html").write_text(text, encoding="utf-8")
    pixels, urls = render(chromium, run / f"{name}.html", name)
    return [correlation(pixels, box, figure) for box, figure in zip(boxes, figures)], urls, pixels


def test_report_is_self_contained(report):
    problems, images = external_references(report[1])
    assert problems == []
    assert [i.get("alt") for i in images] == list(FIGURES)
    assert all(i.get("src", "").startswith("data:image/png;base64,") for i in images)


def test_chromium_shows_every_figure_and_fetches_nothing(chromium, report):
    found, urls, pixels = scores(chromium, report, report[1], "report")
    assert urls == set(), f"Chromium tried to load {sorted(urls)}"
    assert all(s > MIN_CORRELATION for s in found), dict(zip(FIGURES, found))
    blank = (pixels > 245).all(axis=2)
    assert blank[-100:].all(), "the screenshot's last rows are not blank: raise HEIGHT so the report fits"


def _corrupt(src):
    png = base64.b64decode(src.split(",", 1)[1])
    garbled = png[:33] + bytes(b ^ 0x5A for b in png[33:])  # signature and IHDR kept: right size, no pixels
    return "data:image/png;base64," + base64.b64encode(garbled).decode("ascii")


@pytest.mark.parametrize("damage", ["corrupted", "missing", "shuffled"])
def test_a_report_with_broken_figures_fails_the_check(chromium, report, damage):
    text = report[1]
    _, images = external_references(text)
    sources = [i["src"] for i in images]
    if damage == "corrupted":
        broken = with_sources(text, [_corrupt(s) for s in sources])
    elif damage == "missing":
        broken = re.sub(r'(<img\b[^>]*?)\ssrc="[^"]*"', r"\1", text)
    else:  # each figure in the next one's place
        broken = with_sources(text, sources[1:] + sources[:1])
    assert broken != text
    found, _, _ = scores(chromium, report, broken, damage)
    assert all(s < MIN_CORRELATION for s in found), dict(zip(FIGURES, found))


def test_the_network_checks_see_an_external_image(chromium, tmp_path):
    page = tmp_path / "external.html"
    page.write_text('<!DOCTYPE html><img src="http://example.com/figure.png">'
                    '<div style="background:url(https://example.org/a.png)"></div>')
    problems, _ = external_references(page.read_text())
    assert len(problems) == 2, problems
    _, urls = render(chromium, page, "external")
    assert "http://example.com/figure.png" in urls

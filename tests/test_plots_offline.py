"""`dvc plots show` draws its page with no network: the template .dvc/config names (dvc_template/plots.html)
inlines the pinned npm builds of vega, vega-lite and vega-embed, unchanged, with their licences beside it;
headless Chromium, every request off the machine refused, opens the page DVC writes from this checkout's
committed plot data and draws every plot, while DVC's default page (its scripts on a CDN) draws nothing."""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from helpers import REPO_ROOT, dvc, make_repo_copy

TEMPLATE_DIR = REPO_ROOT / "dvc_template"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def load_build():
    """dvc_template/build.py as a module: its pinned PACKAGES and the function that writes the template."""
    spec = importlib.util.spec_from_file_location("dvc_template_build", TEMPLATE_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configured_template(repo: Path) -> Path:
    config = configparser.ConfigParser()
    config.read(repo / ".dvc" / "config")
    return (repo / ".dvc" / config["plots"]["html_template"]).resolve()


def test_the_configured_template_inlines_the_pinned_builds_unchanged():
    build = load_build()
    path = configured_template(REPO_ROOT)
    assert path == (TEMPLATE_DIR / "plots.html").resolve()
    page = path.read_text(encoding="utf-8")

    assert "{plot_divs}" in page  # DVC refuses a template without it
    assert "{scripts}" not in page  # where DVC would put its CDN <script src="https://cdn.jsdelivr.net/..."> tags
    assert not re.findall(r"<script[^>]*\bsrc=", page)  # nothing loaded from elsewhere
    assert '<meta charset="utf-8">' in page  # the builds hold non-ASCII text

    inlined = build.scripts(page)
    assert [(a["data-package"], a["data-version"], a["data-sha256"]) for a, _ in inlined] == [
        (name, version, digest) for name, version, _, digest in build.PACKAGES
    ]
    for attributes, code in inlined:  # byte for byte the npm build of the pinned version
        assert hashlib.sha256(code.encode("utf-8")).hexdigest() == attributes["data-sha256"], attributes["data-package"]
        assert not [p for p in build.DVC_PLACEHOLDERS if p in code]  # DVC would replace it inside the code
    assert build.render({a["data-package"]: code for a, code in inlined}) == page  # no hand edit beside build.py

    for name, _, _, _ in build.PACKAGES:
        licence = (TEMPLATE_DIR / f"LICENSE.{name}").read_text()
        assert "University of Washington Interactive Data Lab" in licence
        assert "Redistribution and use in source and binary forms" in licence and "Neither the name" in licence  # BSD-3


def test_the_template_path_is_relative():
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / ".dvc" / "config")
    assert not Path(config["plots"]["html_template"]).is_absolute()  # the same in every clone


# --- the page in a browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> str:
    """Chromium or Chrome: $AVEMO_CHROMIUM, or the first of BROWSERS on PATH (.ci/run installs Debian's chromium)."""
    found = os.environ.get("AVEMO_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        pytest.skip(
            f"no headless browser found (none of {', '.join(BROWSERS)} on PATH, AVEMO_CHROMIUM unset; `apt-get install "
            "-y chromium`): the offline page is not opened"
        )
    return found


def open_offline(browser: str, page: Path, work: Path) -> tuple[str, np.ndarray, str]:
    """Open a local page in headless Chromium with every request off the machine refused (all traffic goes to
    a proxy on a closed local port, and every host name fails to resolve); let it run 15 s of virtual time.
    Returns the DOM after the scripts ran, a screenshot (RGB array) and the browser's log (console messages)."""
    shot = work / f"{page.parent.name}.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={work / ('profile-' + page.parent.name)}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1200,4000",
            "--virtual-time-budget=15000",
            f"--screenshot={shot}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-3000:]
    return done.stdout, np.asarray(Image.open(shot).convert("RGB")).astype(int), done.stderr


class Canvases(HTMLParser):
    """The size of every <canvas> inside each element that has an id."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, dom: str):
        super().__init__()
        self.open: list[str | None] = []
        self.inside: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "canvas":
            for element in filter(None, self.open):
                self.inside[element].append((int(attrs.get("width") or 0), int(attrs.get("height") or 0)))
        if tag not in self.VOID:
            self.open.append(attrs.get("id"))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.open:
            self.open.pop()


def console(log: str) -> list[str]:
    return re.findall(r":CONSOLE[^\]]*\] \"(.*?)\", source:", log)


def test_plots_show_page_draws_with_no_network(browser, tmp_path):
    repo = make_repo_copy(tmp_path / "repo", {})  # this checkout, with its committed plot data; nothing is run
    dvc(repo, "plots", "show", "-o", str(tmp_path / "ours"))  # a folder outside the repository: the page stands alone
    page = (tmp_path / "ours" / "index.html").read_text(encoding="utf-8")
    plots = re.findall(r"vegaEmbed\('#([^']+)'", page)
    assert len(plots) >= len(yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]), plots
    assert "cdn.jsdelivr.net" not in page and not re.findall(r"<script[^>]*\bsrc=", page)

    dom, shot, log = open_offline(browser, tmp_path / "ours" / "index.html", tmp_path)
    canvases = Canvases(dom).inside
    for plot in plots:  # vega-embed replaced each plot's script with a drawn canvas
        assert canvases.get(plot) and all(w > 0 and h > 0 for w, h in canvases[plot]), (plot, canvases.get(plot))
    assert not [m for m in console(log) if m.startswith("Uncaught")], console(log)
    drawn = shot.min(axis=2) < 250  # not white
    coloured = shot.max(axis=2) - shot.min(axis=2) > 60  # the curves' colours, the confusion matrices' blues
    assert drawn.mean() > 0.02 and coloured.mean() > 0.01, (drawn.mean(), coloured.mean())

    # DVC's default page (the template unset): the same plots, scripts from a CDN, so offline nothing is drawn.
    dvc(repo, "config", "--unset", "plots.html_template")
    dvc(repo, "plots", "show", "-o", str(tmp_path / "default"))
    default = (tmp_path / "default" / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"vegaEmbed\('#([^']+)'", default) == plots and "cdn.jsdelivr.net" in default
    dom, shot, log = open_offline(browser, tmp_path / "default" / "index.html", tmp_path)
    assert not Canvases(dom).inside and "<canvas" not in dom
    assert "Uncaught ReferenceError: vegaEmbed is not defined" in console(log), console(log)
    assert (shot.min(axis=2) < 250).sum() == 0  # a blank white page

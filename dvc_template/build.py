"""Write dvc_template/plots.html: the HTML page template that `dvc plots show` and `dvc plots diff` fill
(.dvc/config: `plots.html_template`), with the minified builds of vega, vega-lite and vega-embed inlined
from the npm registry, so that the page draws its plots with no network and can be shared as one file.

    python dvc_template/build.py           # npm pack the pinned versions, check them, write plots.html
    python dvc_template/build.py --check   # the same checks, then compare with the committed plots.html

To update: change a version in PACKAGES, run this once to see the new build's sha256 (it stops and prints
it), check the new release (changelog, licence), put the hash in PACKAGES, run it again, then run
`pytest tests/test_plots_offline.py` (it opens the page in headless Chromium with the network blocked).
Needs `npm` (it downloads the three packages' tarballs, which npm checks against the registry's
integrity hash); nothing else in the repository needs Node.

DVC's own page (dvc_render.html.PAGE_HTML) puts `<script src="https://cdn.jsdelivr.net/...">` tags where
a template holds DVC's scripts placeholder; this template holds none, so DVC adds no CDN tag. The builds
are inlined rather than linked (`<script src="../dvc_template/...">`) so that the page works wherever DVC
writes it (`-o` anywhere, from any folder) and after it is copied to another machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "plots.html"

# (npm package, exact version, file in the package, sha256 of that file). The newest releases of the
# major versions that DVC's default page loads (vega 5.20.2, vega-lite 5.2.0, vega-embed 6.18.2 in
# dvc_render 1.0.2): they read the same vega-lite v5 specs and carry vega's later security fixes.
PACKAGES = [
    ("vega", "5.33.1", "build/vega.min.js", "463f3db6a40b20e9747b4ed38f37ed0add508838f9141b1cf8366784b07b30c8"),
    (
        "vega-lite",
        "5.23.0",
        "build/vega-lite.min.js",
        "58c27358e26f2d319cf62f45bc17a4c8362f08645001df2ec8d341eee4097c7f",
    ),
    (
        "vega-embed",
        "6.29.0",
        "build/vega-embed.min.js",
        "12d02acfbe3ec59ef9a37dd4822a2e04e2961b5bbb671bbe661d2221715b99da",
    ),
]
LICENCE = "BSD-3-Clause"
# Text DVC replaces in a template (dvc_render.html.HTML.embed); a build must not contain any of them.
DVC_PLACEHOLDERS = ("{scripts}", "{plot_divs}", "{refresh_tag}")

HEAD = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- The avemo repository's DVC page template, written by dvc_template/build.py. Inlined:
         {names} ({licence}; licence texts in dvc_template/),
         so this page draws its plots with no network. DVC's own script tags, which load them from a CDN,
         are left out on purpose. -->
"""
SCRIPT = '    <script data-package="{name}" data-version="{version}" data-sha256="{sha256}">{code}</script>\n'
TAIL = """    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_build(name: str, version: str, code: str) -> None:
    """Stop if a build cannot be inlined unchanged into the template."""
    for text in ("</script", "<!--", *DVC_PLACEHOLDERS):
        if text in code.lower():
            sys.exit(
                f"{name}@{version}: its build contains {text!r}, which cannot be inlined unchanged in the template"
            )


def render(codes: dict[str, str]) -> str:
    """The template, given each package's build (name -> JavaScript text)."""
    names = ", ".join(f"{name} {version}" for name, version, _, _ in PACKAGES)
    page = HEAD.format(names=names, licence=LICENCE)
    for name, version, _, digest in PACKAGES:
        page += SCRIPT.format(name=name, version=version, sha256=digest, code=codes[name])
    return page + TAIL


def scripts(page: str) -> list[tuple[dict[str, str], str]]:
    """The inlined scripts of a template: (attributes, code) in page order."""
    found = []
    for attributes, code in re.findall(r"<script ([^>]*)>(.*?)</script>", page, flags=re.S):
        found.append((dict(re.findall(r'([\w-]+)="([^"]*)"', attributes)), code))
    return found


def npm_pack(name: str, version: str, folder: Path) -> tarfile.TarFile:
    done = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"npm pack {name}@{version} failed:\n{done.stderr}")
    filename = json.loads(done.stdout)[0]["filename"]
    return tarfile.open(folder / filename)


def fetch() -> tuple[dict[str, str], dict[str, bytes]]:
    """Each pinned build from the npm registry, checked, and the licence texts the packages ship."""
    codes, licences = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, path, digest in PACKAGES:
            with npm_pack(name, version, Path(tmp)) as tar:
                meta = json.load(tar.extractfile("package/package.json"))
                if (meta["name"], meta["version"]) != (name, version):
                    sys.exit(f"npm gave {meta['name']}@{meta['version']} for {name}@{version}")
                if meta.get("license") != LICENCE:
                    sys.exit(
                        f"{name}@{version} declares licence {meta.get('license')!r}, not {LICENCE}: review it before "
                        "shipping"
                    )
                data = tar.extractfile(f"package/{path}").read()
                if sha256(data) != digest:
                    sys.exit(
                        f"{name}@{version} {path} has sha256 {sha256(data)}, not the pinned {digest}: check the new "
                        "build, then put its hash in PACKAGES"
                    )
                try:
                    licence = tar.extractfile("package/LICENSE").read()
                except KeyError:  # vega's npm tarball ships none: LICENSE.vega is from github.com/vega/vega
                    licence = None
            if licence is not None:
                licences[name] = licence
            elif not (HERE / f"LICENSE.{name}").is_file():
                sys.exit(f"{name}@{version}: no licence text in its package; put it in dvc_template/LICENSE.{name}")
            code = data.decode("utf-8")
            check_build(name, version, code)
            codes[name] = code
    return codes, licences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed plots.html instead of writing it"
    )
    args = parser.parse_args(argv)
    codes, licences = fetch()
    page = render(codes)
    if args.check:
        stale = [p.name for p in [TEMPLATE] if p.read_text(encoding="utf-8") != page]
        stale += [f"LICENSE.{n}" for n, text in licences.items() if (HERE / f"LICENSE.{n}").read_bytes() != text]
        if stale:
            print(
                f"differ from what the pinned npm packages give: {', '.join(stale)}; run python dvc_template/build.py",
                file=sys.stderr,
            )
            return 1
        print(f"{TEMPLATE.name} and the licences match the pinned npm packages")
        return 0
    for name, text in licences.items():
        (HERE / f"LICENSE.{name}").write_bytes(text)
    TEMPLATE.write_text(page, encoding="utf-8", newline="\n")
    print(f"wrote {TEMPLATE} ({TEMPLATE.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Put Solara's browser assets into its local CDN cache, from the npm registry.

Solara's page loads its JavaScript and CSS (the Vuetify app, require.js, Font Awesome)
through the server's ``/_solara/cdn/`` proxy, which fetches them from a public CDN the
first time and keeps them in ``settings.assets.proxy_cache_dir``. Where that CDN cannot
be reached (a classroom behind a firewall, CI), the page stays blank. The CDN only
mirrors npm packages, so this module fills the cache with ``npm pack`` from the npm
registry instead; the server then never needs the CDN.

    python -m app.assets            # fetch what is missing (needs npm)
    python -m app.assets --check    # exit 1 and list what is missing, fetch nothing

The packages are the exact ``name@version`` that the installed Solara's page template
names, so a Solara upgrade brings its own versions.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# name@version/ in the template's {{cdn}}/... addresses (scoped names included)
_SPEC = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+[\w.+-]*)/")
# the page always needs these, whichever branch of the template applies
REQUIREJS = "requirejs@2.3.6"


def cache_dir() -> Path:
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def _template() -> str:
    import solara.server

    path = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    return path.read_text(encoding="utf-8")


def _vuetify3() -> bool:
    from importlib.metadata import version

    return int(version("ipyvuetify").split(".")[0]) >= 3


def needed() -> list[str]:
    """``name@version`` of every npm package the page loads through the CDN proxy."""
    from solara.server import settings

    text = _template()
    specs = set(_SPEC.findall(text))
    # the template holds a Vuetify 2 and a Vuetify 3 branch: keep the one in use
    app = "solara-vuetify3-app@" if _vuetify3() else "solara-vuetify-app@"
    specs = {s for s in specs if "solara-vuetify" not in s or app in s}
    specs.add(REQUIREJS)
    fontawesome = settings.assets.fontawesome_path.strip("/").split("/")[0]
    if settings.assets.fontawesome_enabled and "@" in fontawesome:
        specs.add(fontawesome)
    return sorted(specs)


def missing(directory: Path | None = None) -> list[str]:
    directory = directory or cache_dir()
    return [s for s in needed() if not (directory / s / "package.json").exists()]


def fetch(spec: str, directory: Path) -> Path:
    """``npm pack`` one package and unpack it as ``directory/name@version/``."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: it is needed to fetch Solara's browser assets")
    target = directory / spec
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"],
                             capture_output=True, text=True, timeout=300, check=False)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if out.returncode != 0 or not tarballs:
            raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip() or out.stdout}")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(unpacked, filter="data")
        staging = directory / f".{spec.replace('/', '_')}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(unpacked / "package", staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def ensure(directory: Path | None = None, log=print) -> list[str]:
    """Fetch the missing packages; return what was fetched."""
    directory = directory or cache_dir()
    todo = missing(directory)
    for spec in todo:
        log(f"fetching {spec} into {directory}")
        fetch(spec, directory)
    return todo


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.assets", description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="list what is missing, fetch nothing")
    args = p.parse_args(argv)
    if args.check:
        gone = missing()
        for spec in gone:
            print(f"missing: {cache_dir() / spec}")
        return 1 if gone else 0
    try:
        ensure()
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"Solara assets ready in {cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which files a scenario (or an experiment) may make the program read.

A scenario names other files: ``extends`` (a scenario), ``series.file`` (a CSV), and an
experiment's ``base.scenario``. A file from someone else must not be able to read, and echo
in an error message, any file of the user's: so a named file must be inside the folder tree
of the file the user gave, the bundled library (``scenarios/``, ``data/``), or a folder the
user allowed with ``--allow-path DIR`` or the ``RECEPTION_ALLOW_PATHS`` environment variable
(folders separated by ``os.pathsep``). Scenarios must end in ``.toml`` and series in
``.csv``, so the content of any other kind of file is never read. Paths are compared after
resolving symbolic links, so a link cannot lead outside.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED = (REPO_ROOT / "scenarios", REPO_ROOT / "data")
ALLOW_ENV = "RECEPTION_ALLOW_PATHS"


def allowed_extra() -> list[Path]:
    """Folders the user allowed (``RECEPTION_ALLOW_PATHS``; ``--allow-path`` sets it)."""
    return [Path(p).expanduser().resolve() for p in os.environ.get(ALLOW_ENV, "").split(
        os.pathsep) if p.strip()]


def allow(folders: Iterable[Path]) -> None:
    """Add folders to ``RECEPTION_ALLOW_PATHS`` (child processes, such as workers, inherit it)."""
    extra = [str(Path(f).expanduser().resolve()) for f in folders]
    if extra:
        old = [p for p in os.environ.get(ALLOW_ENV, "").split(os.pathsep) if p.strip()]
        os.environ[ALLOW_ENV] = os.pathsep.join([*old, *extra])


def roots_for(*files: Path) -> tuple[Path, ...]:
    """The folders a scenario given as ``files`` may read from (see the module text)."""
    return (*(Path(f).resolve().parent for f in files), *BUNDLED, *allowed_extra())


def refusal(path: Path, suffix: str, roots: tuple[Path, ...]) -> str | None:
    """Why ``path`` may not be read (None: it may), in words for an error message."""
    if path.suffix.lower() != suffix:
        return f"expected a {suffix} file, found {path.name!r}"
    real = path.resolve()
    if any(real.is_relative_to(root) for root in roots):
        return None
    return (f"{str(path)!r} is outside the scenario's folder ({roots[0]}) and the bundled "
            "library; pass --allow-path DIR (or set RECEPTION_ALLOW_PATHS) to allow reading "
            "from another folder")

"""The output folder of one run: checked before the run, written beside it, swapped in.

What ``--overwrite`` may remove, and nothing else (docs/outputs.md):

* a folder this tool wrote: it holds a ``run.json`` run record and nothing but the files a
  run writes (``OUTPUT_FILES``), each a plain file; a folder holding anything else, a
  symbolic link, the working directory, one of its parents, the home folder or ``/`` is
  refused before anything runs;
* its own temporary folders ``.NAME.reception-PID-XXXXXXXX/`` beside ``--out``, which hold a
  ``MARKER`` file naming the process that made them; a stale one (its process is gone) is
  removed when the next run into the same ``--out`` starts (as is a partial
  ``.NAME.XXXXXXXX/`` of older versions: output tables and no run record).

Removal unlinks the known file names one by one and then removes the empty folder, so it
never follows a symbolic link and never deletes a file it did not write.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sys
from pathlib import Path

RUN_RECORD = "run.json"
TABLES = ("weekly_municipalities.parquet", "weekly_totals.parquet", "monthly.parquet")
MARKER = ".reception-tmp"  # in a temporary folder: {"pid": ...}
OUTPUT_FILES = frozenset({*TABLES, RUN_RECORD, MARKER})
TEMP_INFIX = ".reception-"
# temporary folders of older versions (tempfile.mkdtemp, no marker): removed only while
# partial (output tables, no run record: a user's copy of a finished run is never touched)
LEGACY_TEMP = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}$")


class OutputError(Exception):
    """An output folder that cannot be used; the message says why and what to do."""


class Staging:
    """A temporary folder beside ``out`` that becomes ``out`` on ``commit``."""

    def __init__(self, out: Path, tmp: Path) -> None:
        self.out, self.tmp = out, tmp
        self.committed = False

    def commit(self) -> Path:
        """Swap the finished folder into place; the old one (if any) is removed after."""
        old = None
        if self.out.exists():
            if any(self.out.iterdir()):
                refuse_unless_own(self.out)  # checked again: it may have changed meanwhile
                old = _temp_name(self.out)
                os.rename(self.out, old)
                _write_marker(old)
            else:
                self.out.rmdir()
        os.rename(self.tmp, self.out)
        self.committed = True
        with contextlib.suppress(OSError):
            (self.out / MARKER).unlink()
        if old is not None:
            remove_own(old)
        return self.out

    def discard(self) -> None:
        """Remove the temporary folder (nothing of it is kept); safe to call twice."""
        if not self.committed and self.tmp.exists():
            with contextlib.suppress(OSError, OutputError):
                remove_own(self.tmp)


def prepare(out: Path, overwrite: bool) -> Staging:
    """Check ``out`` before a run and make its temporary folder, or raise ``OutputError``."""
    out = Path(out)
    if out.is_symlink():
        raise OutputError(f"--out {out} is a symbolic link (to {os.readlink(out)}); give the "
                          "folder itself: outputs never follow or replace a link")
    _refuse_protected(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is a file, not a folder; choose another "
                          "--out")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise OutputError(f"--out {out} already holds files; choose another --out, or pass "
                              "--overwrite to replace the results of an earlier run")
        refuse_unless_own(out)
    if out.is_dir() and not os.access(out, os.W_OK):
        raise OutputError(f"--out {out}: the folder is not writable; choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"--out {out}: cannot create {out.parent} "
                          f"({e.strerror or e})") from None
    removed = remove_stale(out)
    if removed:
        print(f"note: removed {removed} temporary folder(s) left beside {out} by interrupted "
              "runs", file=sys.stderr)
    tmp = _temp_name(out)
    try:
        tmp.mkdir()
        _write_marker(tmp)
    except OSError as e:
        with contextlib.suppress(OSError):
            (tmp / MARKER).unlink()
            tmp.rmdir()
        raise OutputError(f"--out {out}: cannot write in {out.parent} "
                          f"({e.strerror or e}); choose another --out") from None
    return Staging(out, tmp)


def refuse_unless_own(folder: Path) -> None:
    """Raise ``OutputError`` unless ``folder`` holds only the outputs of a run (see top)."""
    if not is_run_record(folder / RUN_RECORD):
        raise OutputError(f"--out {folder} was not written by `reception run` (it has no "
                          f"{RUN_RECORD} run record), so --overwrite will not touch it; "
                          "choose another --out")
    foreign = sorted(p.name for p in folder.iterdir()
                     if p.name not in OUTPUT_FILES or p.is_symlink() or not p.is_file())
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3
                                          else "")
        raise OutputError(f"--out {folder} holds {shown}, which `reception run` did not "
                          "write, so --overwrite will not replace it; move those away or "
                          "choose another --out")


def is_run_record(path: Path) -> bool:
    """Whether ``path`` is a plain file holding a run record written by ``sim.runner``."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(data, dict) and {"scenario", "seed", "versions", "summary"} <= set(data)
            and isinstance(data["versions"], dict) and "reception-sim" in data["versions"])


def remove_own(folder: Path) -> None:
    """Unlink the output files in ``folder``, then the folder; refuse anything else in it."""
    if folder.is_symlink() or not folder.is_dir():
        raise OutputError(f"{folder} is not a folder")
    entries = list(folder.iterdir())
    foreign = [p for p in entries if p.name not in OUTPUT_FILES or p.is_symlink()
               or not p.is_file()]
    if foreign:
        raise OutputError(f"{folder} holds {foreign[0].name}, which a run does not write; "
                          "left in place")
    for p in entries:
        p.unlink()
    folder.rmdir()


def remove_stale(out: Path) -> int:
    """Remove temporary folders of ``out`` whose process is gone; the number removed."""
    removed = 0
    if not out.parent.is_dir():
        return 0
    protected = _protected()
    for p in out.parent.iterdir():
        if p.is_symlink() or not p.is_dir() or p.resolve() in protected:
            continue
        if p.name.startswith(f".{out.name}{TEMP_INFIX}"):
            pid = _marker_pid(p)
            if pid is None or _alive(pid):
                continue
        else:
            legacy = LEGACY_TEMP.match(p.name)
            if not legacy or legacy["name"] != out.name or (p / RUN_RECORD).exists():
                continue
        try:
            remove_own(p)
        except (OSError, OutputError):
            continue
        removed += 1
    return removed


def _temp_name(out: Path) -> Path:
    return out.with_name(f".{out.name}{TEMP_INFIX}{os.getpid()}-{secrets.token_hex(4)}")


def _write_marker(folder: Path) -> None:
    (folder / MARKER).write_text(json.dumps({"pid": os.getpid(), "out": folder.name}))


def _marker_pid(folder: Path) -> int | None:
    marker = folder / MARKER
    if marker.is_symlink():
        return None
    try:
        pid = json.loads(marker.read_text(encoding="utf-8"))["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or a pid out of range: be careful)
    return True


def _protected() -> set[Path]:
    """Folders never replaced or removed: the working directory and its parents, home."""
    cwd = Path.cwd().resolve()
    return {cwd, *cwd.parents, Path.home().resolve(), Path(cwd.anchor)}


def _refuse_protected(out: Path) -> None:
    resolved = out.resolve()
    if resolved in _protected():
        what = ("the working directory" if resolved == Path.cwd().resolve() else
                "your home folder" if resolved == Path.home().resolve() else
                "a parent of the working directory")
        raise OutputError(f"--out {out} is {what}; a run's results go in a folder of their "
                          "own, e.g. --out results/my_run")

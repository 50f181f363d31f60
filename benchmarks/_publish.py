"""Shared by the benchmarks: print a Markdown section and append it to a results file."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path


def publish(text: str, write: Path | None) -> None:
    """Print ``text``; with ``write``, append it to that Markdown file (never rewriting earlier sections)."""
    print(text)
    if write:
        write.parent.mkdir(parents=True, exist_ok=True)
        with write.open("a") as fh:
            fh.write("\n" + text)


@contextlib.contextmanager
def revision_tree(root: Path, revision: str, where: Path) -> Iterator[Path]:
    """A temporary git worktree of ``root`` at ``revision`` (in ``where/base``), removed after the block."""
    tree = where / "base"
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=False)


def head_revision(root: Path) -> str:
    """The short hash of ``root``'s checked-out commit (the "this checkout" of a side-by-side table)."""
    return subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()

"""Shared by the benchmarks: print a Markdown section and append it to a results file."""

from __future__ import annotations

from pathlib import Path


def publish(text: str, write: Path | None) -> None:
    """Print ``text``; with ``write``, append it to that Markdown file (never rewriting earlier sections)."""
    print(text)
    if write:
        write.parent.mkdir(parents=True, exist_ok=True)
        with write.open("a") as fh:
            fh.write("\n" + text)

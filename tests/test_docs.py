"""The documentation site builds with ``mkdocs build --strict`` and holds what the README points to: the
strategies catalogue generated from the registry, the API reference from the docstrings, the example notebook
with its outputs, and the benchmarks; the README itself stays one short page (issue 25, item 5)."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from imbalance_lab.strategies import STRATEGIES

ROOT = Path(__file__).resolve().parents[1]


def nav_pages(nav: list) -> list[str]:
    """Every page named in mkdocs.yml's nav."""
    pages: list[str] = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def built_page(site: Path, page: str) -> Path:
    """Where mkdocs writes a page (directory URLs): guide/specs.md -> guide/specs/index.html."""
    stem = re.sub(r"\.(md|ipynb)$", "", page)
    return site / ("index.html" if stem == "index" else f"{stem.removesuffix('/index')}/index.html")


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "DISABLE_MKDOCS_2_WARNING": "true", "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert not re.search(r"^WARNING\s+-", proc.stderr, re.M), proc.stderr[-6000:]
    return out


def test_every_page_in_the_nav_is_built(site: Path) -> None:
    pages = nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    assert len(pages) >= 20, pages
    missing = [page for page in pages if not built_page(site, page).is_file()]
    assert not missing


def test_the_strategies_catalogue_lists_every_registered_strategy(site: Path) -> None:
    page = (site / "guide" / "strategies" / "index.html").read_text()
    names = STRATEGIES.names()
    assert len(names) >= 20
    assert f"The catalogue: {len(names)} strategies" in html.unescape(page)
    for name in names:
        assert f'id="{name}"' in page, name  # its own section
        assert f'href="#{name}"' in page, name  # its row in the table
    text = text_of(site / "guide" / "strategies" / "index.html")
    # formula, defaults and reference come from the docstrings and the factories' signatures
    assert "(1 − p_t)^γ" in text and "arXiv:1708.02002" in text  # focal
    assert re.search(r"beta\s+0\.9999", text)  # class_balanced's default, from its signature


def test_the_api_reference_is_generated_from_the_docstrings(site: Path) -> None:
    index = (site / "api" / "index.html").read_text()
    for name in ("run_experiment", "load", "load_spec", "run_one"):
        assert f'id="imbalance_lab.{name}"' in index, name
    experiment = text_of(site / "api" / "experiment" / "index.html")
    assert "The report's verdict on the test set" in experiment  # Experiment.verdict's docstring
    assert ":func:" not in experiment and ":class:" not in experiment  # reST roles tidied by the hook


def test_the_notebook_is_rendered_with_its_outputs(site: Path) -> None:
    page = (site / "examples" / "cats_vs_dogs" / "index.html").read_text()
    assert page.count("data:image/png;base64,") >= 4  # curves, forest, confusion, costs
    assert "what to deploy: deploy" in html.unescape(page)
    assert "max-width:1200px" not in page  # the Experiment's notebook styles do not restyle the docs page


def test_the_committed_notebook_carries_its_outputs() -> None:
    notebook = json.loads((ROOT / "examples" / "notebooks" / "cats_vs_dogs.ipynb").read_text())
    outputs = [out for cell in notebook["cells"] if cell["cell_type"] == "code" for out in cell["outputs"]]
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 4
    assert not [out for out in outputs if out["output_type"] == "error"]


def test_the_home_page_shows_the_readmes_demo_and_nothing_is_fetched(site: Path) -> None:
    home = text_of(site / "index.html")
    assert "What the demo answers" in home and "verdict on the test set, against `unbalanced`" in home
    for page in site.rglob("*.html"):
        assert "fonts.googleapis.com" not in page.read_text(), page


def test_the_readme_is_one_short_page_that_points_into_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make demo" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    links = re.findall(r"\]\(((?:docs|examples)/[^)#]+)", readme)
    assert links
    assert not [link for link in links if not (ROOT / link).exists()]


def test_the_paths_the_benchmarks_write_exist() -> None:
    """benchmarks/*.py append to docs pages (``--write docs/...``); those pages keep their paths."""
    written = {
        path
        for script in (ROOT / "benchmarks").glob("*.py")
        for path in re.findall(r"docs/[\w./-]+\.(?:md|png)", script.read_text())
    }
    assert "docs/benchmarks.md" in written
    assert not [path for path in written if not (ROOT / path).is_file()]

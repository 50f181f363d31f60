"""Pages made when the site is built (mkdocs-gen-files runs this script; it is not a page itself).

- ``guide/strategies.md``: the hand-written page, followed by the catalogue generated from the strategy
  registry: each strategy's name, what it changes, its formula (the docstring), its parameters with their
  defaults, and its references. Registering a strategy adds it here; nothing is written twice.
- ``examples/cats_vs_dogs.ipynb``: the example notebook, with the outputs it was committed with, for
  mkdocs-jupyter to render.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mkdocs_gen_files

from imbalance_lab.strategies import STRATEGIES, Strategy, StrategyDeclaration

ROOT = Path(__file__).resolve().parents[2]

# What a strategy changes, named by the base class's hooks it overrides; a hook missing here is shown by its name.
HOOK_WORDS = {
    "adapt_model": "model",
    "sample_epoch": "sampling",
    "loss_weights": "loss weights",
    "augment_batch": "augmentation",
    "mix_batch": "mixing",
    "class_losses": "loss",
    "batch_term": "loss",
    "stages": "extra stage",
    "finish_model": "finished model",
}
NOT_HOOKS = {"prepare", "params", "plain_epochs", "n_classes"}


def hooks() -> list[str]:
    """The base classes' public methods a strategy overrides to change training (the declaration's stages,
    the strategy's hooks)."""
    return [
        name
        for base in (StrategyDeclaration, Strategy)
        for name, value in vars(base).items()
        if callable(value) and not name.startswith("_") and name not in NOT_HOOKS
    ]


def changes(factory: Any) -> str:
    words = [HOOK_WORDS.get(h, h) for h in hooks() if getattr(factory, h, None) is not getattr(Strategy, h)]
    return ", ".join(dict.fromkeys(words)) or "nothing"


def markdown(text: str) -> str:
    """numpydoc/reST inline markup as Markdown: ``code`` → `code`, ``text::`` + indented block → a code block."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            out.append(line.rstrip()[:-1])
            block: list[str] = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```text", *[b for b in block if b.strip() or block], "```", ""]
            continue
        out.append(line)
        i += 1
    return re.sub(r"``([^`]+)``", r"`\1`", "\n".join(out))


def sections(doc: str) -> tuple[str, str, dict[str, str]]:
    """A numpydoc docstring as (summary line, body, {section title: text})."""
    lines = doc.splitlines()
    summary, rest = (lines[0] if lines else ""), lines[1:]
    body: list[str] = []
    found: dict[str, list[str]] = {}
    current = body
    for k, line in enumerate(rest):
        if re.fullmatch(r"-{3,}", line.strip()):
            continue
        if k + 1 < len(rest) and re.fullmatch(r"-{3,}", rest[k + 1].strip()) and line.strip():
            current = found.setdefault(line.strip(), [])
            continue
        current.append(line)
    return summary, "\n".join(body).strip(), {title: "\n".join(text).strip() for title, text in found.items()}


def described_params(text: str) -> dict[str, tuple[str, str]]:
    """numpydoc ``Parameters``: name -> (the written type, the description)."""
    params: dict[str, tuple[str, str]] = {}
    name = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            name, _, kind = line.partition(":")
            name = name.strip()
            params[name] = (kind.strip(), "")
        elif name and line.strip():
            kind, desc = params[name]
            params[name] = (kind, f"{desc} {line.strip()}".strip())
    return params


def references(text: str) -> list[str]:
    """One entry per reference: a new entry starts at a line that opens with 'Surname, I.'."""
    entries: list[str] = []
    for line in text.splitlines():
        if re.match(r"^[A-Z][\w'-]+(?: [A-Z][\w'-]+)?, [A-Z]\.", line) or not entries:
            entries.append(line.strip())
        else:
            entries[-1] += " " + line.strip()
    return [e for e in entries if e]


def with_links(entry: str) -> str:
    return re.sub(r"arXiv:(\d{4}\.\d{4,5})", r"[arXiv:\1](https://arxiv.org/abs/\1)", markdown(entry))


def short_reference(entries: list[str]) -> str:
    """``Lin et al. 2017``, ``King and Zeng 2001`` (linked to arXiv where the entry names it), or a dash."""
    if not entries:
        return "—"
    entry = entries[0]
    year = re.search(r"\((\d{4})\)", entry)
    authors = re.split(r"\(\d{4}\)", entry)[0]
    surnames = [name.removeprefix("and ") for name in re.findall(r"([\w'’-]{2,}(?: [\w'’-]{2,})?), [A-Z]", authors)]
    if " et al." in authors or len(surnames) > 2:
        who = f"{surnames[0]} et al."
    else:
        who = " and ".join(surnames) or authors.strip()
    text = f"{who}{f' {year.group(1)}' if year else ''}"
    arxiv = re.search(r"arXiv:(\d{4}\.\d{4,5})", entry)
    return f"[{text}](https://arxiv.org/abs/{arxiv.group(1)})" if arxiv else text


def default(value: Any) -> str:
    if value is None:  # a YAML null keeps the factory's own default: the meaning column says what it is
        return "not set"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value) if abs(value) >= 1 or value == 0 else value
    return f"`{value}`"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def catalogue() -> Iterator[str]:
    names = STRATEGIES.names()
    yield f"## The catalogue: {len(names)} strategies\n"
    yield (
        "Generated from the strategy registry when this site was built (`imbalance-lab list strategies` "
        "prints the same names). *Changes* names what a strategy overrides in training: the epoch's "
        "sampling, the per-class loss weights, the loss itself, the batch's images (augmentation, mixing), "
        "an extra training stage, or the model before or after training.\n"
    )
    yield "| strategy | what it does | changes | parameters (default) | reference |"
    yield "|---|---|---|---|---|"
    for name in names:
        entry = STRATEGIES.entry(name)
        summary, _, found = sections(inspect.getdoc(entry.declaration) or "")
        fields = entry.params_model.model_fields
        params = ", ".join(f"`{p}` ({default(f.default)})" for p, f in fields.items()) or "—"
        yield (
            f"| [`{name}`](#{name}) | {cell(markdown(summary))} | {changes(entry.factory)} | {cell(params)} "
            f"| {short_reference(references(found.get('References', '')))} |"
        )
    yield ""
    for name in names:
        entry = STRATEGIES.entry(name)
        summary, body, found = sections(inspect.getdoc(entry.declaration) or "")
        yield f"### `{name}` {{ #{name} }}\n"
        yield f"{markdown(summary)}\n"
        if body:
            yield f"{markdown(body)}\n"
        fields = entry.params_model.model_fields
        if fields:
            written = described_params(found.get("Parameters", ""))
            yield "| parameter | default | values | meaning |"
            yield "|---|---|---|---|"
            for p, f in fields.items():
                kind, desc = written.get(p, ("", ""))
                yield f"| `{p}` | {default(f.default)} | {cell(markdown(kind))} | {cell(markdown(desc))} |"
            yield ""
        else:
            yield "No parameters.\n"
        if found.get("Notes"):
            yield f"{markdown(found['Notes'])}\n"
        refs = references(found.get("References", ""))
        if refs:
            yield "**References.** " + " ".join(with_links(r) for r in refs) + "\n"
        yield (
            f"*Changes:* {changes(entry.factory)}. *Declared in* `{entry.declaration.__module__}`, "
            f"*trained by* `{entry.factory.__module__}`.\n"
        )


def write_strategies_page() -> None:
    with mkdocs_gen_files.open("guide/strategies.md", "a") as fh:  # appended to the hand-written page
        fh.write("\n" + "\n".join(catalogue()) + "\n")


def without_page_styles(notebook: dict[str, Any]) -> dict[str, Any]:
    """The notebook with the ``<style>`` block of the Experiment's inline HTML left out: its rules (``body``,
    ``table``, ``h2``) are written for a notebook's output cell and would restyle the whole docs page."""
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is None:
                continue
            text = "".join(html) if isinstance(html, list) else html
            if "class='imbalance-lab'" in text:
                output["data"]["text/html"] = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
    return notebook


def copy_notebook() -> None:
    source = ROOT / "examples" / "notebooks" / "cats_vs_dogs.ipynb"
    with mkdocs_gen_files.open("examples/cats_vs_dogs.ipynb", "w") as fh:
        json.dump(without_page_styles(json.loads(source.read_text())), fh)
    mkdocs_gen_files.set_edit_path("examples/cats_vs_dogs.ipynb", "../examples/notebooks/cats_vs_dogs.ipynb")


write_strategies_page()
copy_notebook()

"""One registry shape for everything pluggable: data sources, models, strategies.

A decorator registers a plain factory (function or class) under its own name, as
timm does with ``@register_model``; its keyword parameters, with their type hints
and ``Annotated[..., Field(...)]`` constraints, are the parameter rules. They are
turned into a pydantic model once, so a spec is checked against the same rules the
factory declares (one source of truth), and every error names the parameter, the
bad value and what is valid.

An entry may also be registered in two halves. :meth:`Registry.declare` registers what a spec sees (the
name, the parameters and their rules, the docstring, the checks that need no tensors) from a module that does
not import torch (:mod:`imbalance_lab.declarations`); :meth:`Registry.implement` attaches the code that builds
it from the module that does. A spec is then checked without torch (``imbalance-lab validate``); building needs
the implementing module imported, as with :meth:`Registry.register`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import pydantic

from imbalance_lab.errors import SpecError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry:
    """One registered factory and the pydantic model of its user-facing parameters.

    ``declaration`` holds the parameters, the docstring and the attributes a spec reads (a model's
    ``published_weights``, a strategy's ``roles``); it is the factory itself when the entry was registered in
    one piece. ``factory`` builds the entry; ``None`` while the implementing module is not imported.
    """

    name: str
    factory: Callable[..., Any] | None
    params_model: type[pydantic.BaseModel]
    summary: str
    declaration: Callable[..., Any]

    def build(self, *fixed_args: Any, **params: Any) -> Any:
        """The factory called with the library's fixed arguments and checked parameters."""
        if self.factory is None:
            raise RuntimeError(f"{self.name} is declared but its implementation is not imported")
        return self.factory(*fixed_args, **params)


def _params_model(name: str, factory: Callable[..., Any], fixed: tuple[str, ...]) -> type[pydantic.BaseModel]:
    target = factory.__init__ if inspect.isclass(factory) else factory
    hints = inspect.get_annotations(target, eval_str=True)
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(target).parameters.items():
        if pname in ("self", *fixed) or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (hints.get(pname, Any), default)
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)
    return pydantic.create_model(f"{name}_params", __config__=config, **fields)


def _name_of(factory: Callable[..., Any]) -> str:
    """An entry's name: a class's ``name`` attribute, else the function's or class's own name."""
    name = getattr(factory, "name", None) if inspect.isclass(factory) else None
    return name or factory.__name__


def _param_names(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def _declared_first(factory: Callable[..., Any], declared: Callable[..., Any]) -> Callable[..., Any]:
    """``factory`` called with every argument (the declaration's defaults for those a call leaves out), after
    the declared function has checked them: what a declaration refuses without the heavy dependencies
    (a model's smallest input) is refused the same way when the entry is built."""
    signature = inspect.signature(declared)

    @functools.wraps(factory)
    def build(*args: Any, **params: Any) -> Any:
        bound = signature.bind(*args, **params)
        bound.apply_defaults()
        declared(*bound.args, **bound.kwargs)
        return factory(*bound.args, **bound.kwargs)

    return build


def _field_path(loc: tuple[Any, ...]) -> str:
    """``('arms', 1, 'train')`` -> ``arms[1].train``, leaving out pydantic's union-branch tags."""
    out = ""
    models = _model_names()
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif any(ch in str(part) for ch in "[]-,") or part in ("int", "str", "float", "bool") or part in models:
            continue  # e.g. "dict[str,constrained-float]", "function-after[...]", "CostSpec"
        else:
            out += f".{part}" if out else str(part)
    return out


def _model_names() -> set[str]:
    """The class names of every pydantic model defined so far: pydantic names a union's branch by its class."""
    names, todo = set(), [pydantic.BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__name__ not in names:
                names.add(sub.__name__)
                todo.append(sub)
    return names


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_validation_error(err: pydantic.ValidationError, prefix: str = "", valid: str = "") -> SpecError:
    """Pydantic's first error as one :class:`SpecError` line: field path, bad value, what is valid.

    ``valid`` lists the accepted keys where an unknown key is reported by pydantic itself.
    """
    errors = err.errors(include_url=False)
    first = errors[0]
    # a union reports one error per branch: for a word, the branch listing the valid words says most
    words = [e for e in errors if e["type"] == "literal_error" and e.get("input") == first.get("input")]
    if isinstance(first.get("input"), str) and words:
        first = words[0]
    elif not isinstance(first.get("input"), str):
        # for a list or mapping, the branch that got furthest inside the value says most
        same_field = [
            e
            for e in errors
            if _field_path(e["loc"][: len(first["loc"]) - 1]) == _field_path(first["loc"][: len(first["loc"]) - 1])
        ]
        first = max(same_field, key=lambda e: len(e["loc"]))
    loc = _field_path(first["loc"])
    path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    kind = first["type"]
    if kind == "unknown_key":  # raised by the spec's own strict models, which list the valid keys
        key = first["ctx"]["key"]
        return SpecError(
            f"{path}.{key}" if path else str(key), f"unknown key; valid keys here: {first['ctx']['valid']}"
        )
    if kind == "extra_forbidden":
        return SpecError(
            path, f"unknown parameter; valid: {valid}" if valid else "unknown parameter (this takes no parameters)"
        )
    if kind == "missing":
        return SpecError(path, "required, but missing")
    if kind == "string_pattern_mismatch":
        value = first.get("input")
        other = next((ch for ch in value if not ch.isascii()), None) if isinstance(value, str) else None
        msg = (
            "use only ASCII letters (a-z, A-Z), digits, '_', '.' and '-', starting with a letter or digit "
            f"(it names a directory){f'; {other!r} is not ASCII' if other else ''}"
        )
    elif kind in ("int_parsing_size", "int_from_float", "int_parsing", "int_type"):
        msg = "expected a whole number" + (" (this one is too large)" if kind == "int_parsing_size" else "")
    else:
        msg = first["msg"].removeprefix("Value error, ")
    if kind == "value_error" and isinstance(first.get("input"), dict):  # a check across a section's fields
        return SpecError(path, msg)
    return SpecError(path, f"got {_short(first.get('input'))}: {msg}")


@dataclass
class Registry(Generic[F]):
    """Named factories of one kind (``kind`` is used in messages: 'strategy', 'model', ...).

    ``fixed`` lists the parameters the library passes itself (e.g. a model's
    ``in_channels``), which the user does not set.
    """

    kind: str
    fixed: tuple[str, ...] = ()
    _entries: dict[str, Entry] = field(default_factory=dict)

    def register(self, factory: F) -> F:
        """Decorator: register ``factory`` under ``factory.__name__`` (or its ``name`` attribute)."""
        self._add(factory, factory)
        return factory

    def declare(self, declaration: F) -> F:
        """Decorator: declare an entry (its name, parameters, summary and attributes) whose factory a module
        that imports the heavy dependencies attaches with :meth:`implement`."""
        self._add(declaration, None)
        return declaration

    def implement(self, factory: F) -> F:
        """Decorator: the factory of a declared entry of the same name. A class implements a declared class
        by subclassing it without its own ``__init__`` (the parameters and their checks are the
        declaration's); a function takes the declared function's parameters, in its order, without defaults
        (they are the declaration's, filled in at each call), and runs after the declared function has
        checked them: the decorated name is that loader, so a direct call builds as the registry does (less
        the check of the parameters' rules)."""
        name = _name_of(factory)
        entry = self._entries.get(name)
        if entry is None or entry.factory is not None:
            state = "not declared" if entry is None else "implemented twice"
            raise RuntimeError(f"{self.kind} {name!r} is {state}")
        declared = entry.declaration
        if inspect.isclass(declared):
            if not (inspect.isclass(factory) and issubclass(factory, declared)) or (
                factory.__init__ is not declared.__init__
            ):
                raise RuntimeError(f"{self.kind} {name!r}: implement a declared class by a subclass without __init__")
            built: Callable[..., Any] = factory
        else:
            if _param_names(factory) != _param_names(declared):
                raise RuntimeError(
                    f"{self.kind} {name!r}: the implementation takes {_param_names(factory)}, "
                    f"the declaration {_param_names(declared)}"
                )
            defaulted = [n for n, p in inspect.signature(factory).parameters.items() if p.default is not p.empty]
            if defaulted:  # a second default would be silently overridden by the declaration's
                raise RuntimeError(
                    f"{self.kind} {name!r}: the implementation gives defaults to {defaulted}; they are the declaration's"
                )
            built = _declared_first(factory, declared)
        self._entries[name] = dataclasses.replace(entry, factory=built)
        return cast(F, built)

    def _add(self, declaration: Callable[..., Any], factory: Callable[..., Any] | None) -> None:
        name = _name_of(declaration)
        if name in self._entries:
            raise RuntimeError(f"{self.kind} {name!r} is registered twice")
        doc = inspect.getdoc(declaration) or ""
        params = _params_model(name, declaration, self.fixed)
        self._entries[name] = Entry(name, factory, params, doc.split("\n")[0], declaration)

    def names(self, contains: str = "") -> list[str]:
        """Registered names, sorted, optionally filtered by a substring."""
        return sorted(n for n in self._entries if contains in n)

    def entry(self, name: str, field_path: str = "") -> Entry:
        """The entry for ``name``; an unknown name is a :class:`SpecError` listing the valid names."""
        try:
            return self._entries[name]
        except KeyError:
            raise SpecError(
                field_path or self.kind,
                f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}",
            ) from None

    def check_params(self, name: str, params: dict[str, Any], field_path: str = "") -> dict[str, Any]:
        """Validate user parameters against the factory's declared rules; ``None`` keeps the default."""
        entry = self.entry(name, field_path)
        given = {k: v for k, v in params.items() if v is not None}
        try:
            model = entry.params_model(**given)
        except pydantic.ValidationError as err:
            valid = ", ".join(entry.params_model.model_fields)
            raise format_validation_error(err, field_path or name, valid) from None
        return {k: getattr(model, k) for k in given}

    def describe(self) -> list[dict[str, Any]]:
        """Each entry as plain data, sorted by name: its ``name``, one-line ``summary``, the ``params`` a spec
        may set and whether it has ``published_weights`` (what ``imbalance-lab list`` shows; the shipped
        catalogue, :mod:`imbalance_lab.catalogue`, is this for every registry)."""
        return [
            {
                "name": name,
                "summary": entry.summary,
                "params": list(entry.params_model.model_fields),
                "published_weights": bool(getattr(entry.declaration, "published_weights", False)),
            }
            for name, entry in sorted(self._entries.items())
        ]

    def create(self, name: str, /, *fixed_args: Any, **params: Any) -> Any:
        """Build ``name`` with the library's fixed arguments and validated user parameters."""
        checked = self.check_params(name, params)
        return self.entry(name).build(*fixed_args, **checked)

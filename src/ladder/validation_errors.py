"""Pydantic validation errors as one `dotted.path: message` line each, with a 'did you mean'
for an unknown key: how task.yaml, a rung's options and the CLI's typed configs report bad input."""

from __future__ import annotations

import difflib
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError


def _strip_optional(tp: Any) -> Any:
    """`X | None` -> X; anything else unchanged."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that the value at `loc` is validated against, through lists and dicts."""
    tp: Any = root
    for part in loc:
        tp = _strip_optional(tp)
        if _is_model(tp):
            fields = {(f.alias or name): f for name, f in tp.model_fields.items()}
            if part not in fields:
                return None
            tp = fields[part].annotation
            continue
        origin, args = get_origin(tp), get_args(tp)
        if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
            tp = args[0]
        elif origin is dict and len(args) == 2:
            tp = args[1]
        else:
            return None
    tp = _strip_optional(tp)
    return tp if _is_model(tp) else None


def _hint(root: type[BaseModel] | None, loc: tuple[Any, ...], err_type: str) -> str:
    """A 'did you mean' for unknown keys, from the keys of the model at that path."""
    if root is None or err_type != "extra_forbidden" or not loc:
        return ""
    model = _model_at(root, loc[:-1])
    if model is None:
        return ""
    names = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; known keys: {', '.join(names)}" if names else ""


def format_validation_error(err: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """One `dotted.path: message` line per error.

    `model` is the model that was validated, used for 'did you mean' hints on unknown keys
    (none without it).
    """
    problems = []
    for e in err.errors():
        loc = tuple(e["loc"])
        path = ".".join(str(p) for p in loc) or "<top>"
        got = "" if e["type"] in ("extra_forbidden", "missing") else f" (got {e.get('input')!r})"
        problems.append(f"{path}: {e['msg']}{got}{_hint(model, loc, e['type'])}")
    return problems

"""Fast construction of frozen value classes, for the codecs' hot paths.

A frozen dataclass stores each field with `object.__setattr__`, about 100 ns a field: more than
the whole octet work of packing a space packet. `frozen_value` keeps the class a frozen, slotted
dataclass (immutable, hashable, compared by value, same repr) but gives it an `__init__` that
stores through the slot descriptors directly, then runs `__post_init__` (the validation). Decoders,
whose fields are valid by construction, use `raw_constructor` and skip the validation too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _setters(cls: type) -> dict[str, Any]:
    return {f"_set_{f.name}": getattr(cls, f.name).__set__ for f in dataclasses.fields(cls)}


def frozen_value(cls: type[T]) -> type[T]:
    """Class decorator, applied above `@dataclass(frozen=True, slots=True)`."""
    fields = dataclasses.fields(cls)
    namespace: dict[str, Any] = _setters(cls)
    params = []
    for field in fields:
        if field.default is dataclasses.MISSING:
            params.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            params.append(f"{field.name}=_default_{field.name}")
    lines = [f"def __init__(self, {', '.join(params)}):"]
    lines += [f"    _set_{field.name}(self, {field.name})" for field in fields]
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]
    return cls


def raw_constructor(cls: type[T]) -> Callable[..., T]:
    """A function taking every field positionally that builds an instance without validation."""
    fields = dataclasses.fields(cls)
    namespace: dict[str, Any] = _setters(cls)
    namespace["_new"] = object.__new__
    namespace["_cls"] = cls
    names = ", ".join(f.name for f in fields)
    lines = [f"def _raw({names}):", "    self = _new(_cls)"]
    lines += [f"    _set_{f.name}(self, {f.name})" for f in fields]
    lines.append("    return self")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the class's own field names
    return namespace["_raw"]

"""User-supplied transforms: Python functions registered in the ``coupler.transforms`` entry point group.

A distribution registers a function of one value, e.g. in its pyproject.toml::

    [project.entry-points."coupler.transforms"]
    vat_number = "acme_coupler.transforms:vat_number"

and a field mapping uses it with ``transform = [{ kind = "python", name = "vat_number" }]``. The configuration
layer calls :func:`resolve_transforms` (or :func:`resolve_mappings`) once, which loads each named function and puts
it into its step's params as ``function``, where :func:`coupler.domain.transforms.pipeline.compile_transforms` finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import TableMapping
from coupler.domain.transforms.pipeline import Transform

__all__ = ["GROUP", "available_transforms", "load_transform", "resolve_mappings", "resolve_transforms"]

GROUP = "coupler.transforms"

Loader = Callable[[str], Callable[[Any], Any]]


def available_transforms() -> tuple[str, ...]:
    """The names registered in the ``coupler.transforms`` group, sorted."""
    return tuple(sorted({ep.name for ep in entry_points(group=GROUP)}))


def load_transform(name: str) -> Callable[[Any], Any]:
    """The function registered as ``name``; a ConfigurationError naming it and the available ones otherwise."""
    found = list(entry_points(group=GROUP).select(name=name))
    if not found:
        names = ", ".join(available_transforms()) or "none is installed"
        raise ConfigurationError(
            f"no transform named {name!r} in the entry point group {GROUP!r}; the available ones: {names}"
        )
    if len({ep.value for ep in found}) > 1:
        raise ConfigurationError(
            f"the transform {name!r} is registered more than once in {GROUP!r}: {'; '.join(map(_where, found))}"
        )
    entry_point = found[0]
    try:
        function = entry_point.load()
    except Exception as error:  # importing user code can fail in any way: report it as a configuration problem
        raise ConfigurationError(
            f"the transform {name!r} ({_where(entry_point)}) could not be loaded: {type(error).__name__}: {error}"
        ) from error
    if not callable(function):
        raise ConfigurationError(f"the transform {name!r} ({_where(entry_point)}) is not a function: {function!r}")
    return function  # type: ignore[no-any-return]


def _where(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    origin = f" from {dist.name} {dist.version}" if dist is not None else ""
    return f"{entry_point.value}{origin}"


def resolve_transforms(steps: Iterable[Transform], *, loader: Loader = load_transform) -> tuple[Transform, ...]:
    """``steps`` with each ``python`` step's function loaded into its params (steps that have one are kept)."""
    resolved = []
    for step in steps:
        if step.kind == "python" and step.params.get("function") is None:
            step = replace(step, params={**step.params, "function": loader(str(step.params.get("name")))})
        resolved.append(step)
    return tuple(resolved)


def resolve_mappings(mappings: Iterable[TableMapping], *, loader: Loader = load_transform) -> tuple[TableMapping, ...]:
    """Table mappings whose field mappings' python transforms are loaded; each name is loaded once."""
    cache: dict[str, Callable[[Any], Any]] = {}

    def cached(name: str) -> Callable[[Any], Any]:
        if name not in cache:
            cache[name] = loader(name)
        return cache[name]

    return tuple(
        replace(
            mapping,
            fields=tuple(
                replace(field, transforms=resolve_transforms(field.transforms, loader=cached))
                if any(step.kind == "python" for step in field.transforms)
                else field
                for field in mapping.fields
            ),
        )
        for mapping in mappings
    )

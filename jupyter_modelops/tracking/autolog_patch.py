"""Swapping scikit-learn methods for logging wrappers, and putting the originals back.

A method is wrapped in the class that *defines* it, once: every subclass that inherits
it (the user's included) is covered, and ``unpatch`` restores exactly what was there.
A handler is called as ``handler(estimator, method_name, bound_call, args, kwargs)``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable

_patches: dict[tuple[type, str], object] = {}  # (defining class, method) -> original attribute


def patch(handlers: dict[str, Callable]) -> None:
    for owner, name in _targets(tuple(handlers)):
        if (owner, name) in _patches:
            continue
        raw = owner.__dict__[name]
        if inspect.isfunction(raw):
            new = _wrap_function(raw, handlers[name], name)
        elif hasattr(raw, "__get__"):  # sklearn's available_if descriptors, properties
            new = _PatchedDescriptor(raw, handlers[name], name)
        else:
            continue
        setattr(owner, name, new)
        _patches[(owner, name)] = raw


def unpatch() -> None:
    for (owner, name), raw in list(_patches.items()):
        setattr(owner, name, raw)
        del _patches[(owner, name)]


def _targets(methods: tuple[str, ...]):
    """(defining class, method) for every estimator scikit-learn exports."""
    import sklearn.model_selection as ms
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = [cls for _, cls in all_estimators()] + [Pipeline, ms.GridSearchCV, ms.RandomizedSearchCV]
    # present once the user enabled them (plain hasattr would raise ImportError otherwise)
    classes += [vars(ms)[n] for n in ("HalvingGridSearchCV", "HalvingRandomSearchCV") if n in vars(ms)]
    seen = set()
    for cls in classes:
        for name in methods:
            owner = next((k for k in cls.__mro__ if name in k.__dict__), None)
            if owner is None or owner is object or (owner, name) in seen:
                continue
            seen.add((owner, name))
            yield owner, name


def _wrap_function(fn, handler, name: str):
    @functools.wraps(fn)  # keeps the signature visible to sklearn's introspection
    def patched(self, *args, **kwargs):
        return handler(self, name, functools.partial(fn, self), args, kwargs)

    return patched


class _PatchedDescriptor:
    """Wraps a non-function attribute (sklearn's ``available_if``) so that ``hasattr``
    still answers as before: the original descriptor decides availability."""

    def __init__(self, original, handler, name: str):
        self.original, self.handler, self.name = original, handler, name
        self.__doc__ = getattr(original, "__doc__", None)

    def __get__(self, obj, owner=None):
        bound = self.original.__get__(obj, owner)
        if obj is None:
            return bound
        handler, name = self.handler, self.name

        @functools.wraps(bound)
        def call(*args, **kwargs):
            return handler(obj, name, bound, args, kwargs)

        return call

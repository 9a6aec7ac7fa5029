"""What ``%modelops runs|show|compare|models|versions`` display: widgets built on the Client.

Each function returns a widget; Jupyter shows its view where a widget manager runs and its
static HTML elsewhere (nbconvert, GitHub). Store errors that are the caller's mistake
(``NotFound`` for a run prefix, ...) propagate, so the magic turns them into one line; a bad
filter typed into the table's box is shown inside the table instead.
"""

from __future__ import annotations

from typing import Sequence


def runs_table(client, experiment: str | None = None, filter: str | None = None, limit: int = 25,
               order_by: Sequence[str] | None = None):
    """The first page of runs (one search and one count query), sortable and filterable."""
    from .widgets.runs import RunsTable

    if isinstance(order_by, (list, tuple)) and order_by:
        joined = _unquote(",".join(order_by))  # `--order-by "a DESC, b"` arrives split at the comma
        order_by = [o.strip() for o in joined.split(",")] if joined != ",".join(order_by) else \
            [_unquote(o.strip()) for o in order_by]
    elif isinstance(order_by, str):
        order_by = _unquote(order_by)
    return RunsTable(client, experiment=_unquote(experiment), filter=_unquote(filter), order_by=order_by,
                     page_size=limit)


def _unquote(text):
    """``'x'`` or ``"x"`` -> ``x``: IPython's ``parse_argstring`` keeps the quotes around a
    magic argument, and a whole filter or sort key in quotes is never meant literally."""
    if isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def run_view(client, run_ref):
    """One run: params, metrics, artifacts, datasets, provenance, lineage."""
    from .widgets.run_view import RunView

    return RunView(client, run_ref)


def compare_view(client, run_refs: Sequence[str]):
    """Runs side by side (differences marked) with the curves of their shared metrics."""
    from .widgets.runs import CompareView

    return CompareView(client, list(run_refs))


def models_table(client):
    """Registered models with their latest version and aliases."""
    from .widgets.models import ModelsTable

    return ModelsTable(client)


def versions_table(client, name: str):
    """The versions of one model with state, aliases and source run."""
    from .widgets.models import VersionsTable

    return VersionsTable(client, name)

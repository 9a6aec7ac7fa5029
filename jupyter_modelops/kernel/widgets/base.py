"""What every ModelOps widget shares: static representations and small building blocks.

A widget view only exists where a widget manager runs (JupyterLab, Notebook 7, VS Code).
A notebook exported with nbconvert, shown on GitHub or printed in a terminal needs the same
information without one, so every widget here also renders itself as static HTML (the
same table), Markdown and plain text, from the data it already holds — a repr never
queries the store.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ...errors import ModelOpsError
from .. import html as h

#: Errors a widget turns into a one-line message instead of a traceback.
USER_ERRORS = (ModelOpsError,)


def error_line(exc: BaseException) -> str:
    """The one-line message shown for a user mistake (``InvalidInput``: bad filter...)."""
    msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__


class StaticRepr:
    """Mixin for ipywidgets: ``_repr_html_``, ``_repr_markdown_``, text repr, and a MIME
    bundle that carries ``text/html`` and ``text/plain`` next to the widget view.

    Subclasses implement ``to_html()`` (built with ``kernel.html``, so escaped),
    ``to_markdown()`` and ``to_text()``.
    """

    title = "ModelOps"

    def to_html(self) -> h.Safe:  # pragma: no cover - every widget overrides
        raise NotImplementedError

    def to_markdown(self) -> str:
        return f"**{h.md_escape(self.title)}**\n\n" + h.md_escape(self.to_text())

    def to_text(self) -> str:
        return self.title

    # -- IPython display protocol
    def _repr_html_(self) -> str:
        return str(self.to_html())

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        try:
            return self.to_text()
        except Exception as exc:  # a repr must never raise
            return f"<{type(self).__name__} ({type(exc).__name__} while rendering)>"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))

    def _owned_widgets(self) -> list:
        """Widgets this one created but may not be showing right now (pools, cached views)."""
        return []

    def close(self) -> None:
        try:
            owned = list(self._owned_widgets())
        except AttributeError:  # closed (or collected) before __init__ finished
            owned = []
        for child in list(getattr(self, "children", ()) or ()) + owned:
            close_tree(child)
        super().close()  # type: ignore[misc]

    def _repr_mimebundle_(self, **kwargs):
        base = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        metadata = None
        if isinstance(base, tuple):  # anywidget returns (data, metadata)
            base, metadata = base
        data = dict(base or {})
        data["text/plain"] = repr(self)
        data["text/html"] = self._repr_html_()
        return (data, metadata) if metadata else data


# --------------------------------------------------------------------------- building blocks


def style_widget() -> w.HTML:
    """A hidden HTML widget carrying the scoped stylesheet for a ``mo-w`` container."""
    return w.HTML(value=str(h.CSS), layout=w.Layout(height="0px", margin="0", overflow="hidden"))


def message_html(text: str | None, kind: str = "err") -> str:
    if not text:
        return ""
    return str(h.tag("div", text, class_=f"mo-{kind}"))


def close_tree(widget: Any) -> None:
    """Close a widget and every widget it contains (frees their comms in the kernel)."""
    if not isinstance(widget, w.Widget):
        return
    if isinstance(widget, StaticRepr):
        widget.close()  # closes its own children and the widgets it keeps off-screen
        return
    for child in list(getattr(widget, "children", ()) or ()):
        close_tree(child)
    widget.close()


def guard(report):
    """Decorate a button/observer callback: a user mistake or an unexpected failure shows
    as one line via ``report(text)`` instead of vanishing into the widget log."""

    def wrap(fn):
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except USER_ERRORS as exc:
                report(error_line(exc))
            except Exception as exc:  # noqa: BLE001 - shown to the user, who can report it
                report(f"unexpected {type(exc).__name__}: {error_line(exc)}")
            return None

        call.__name__ = getattr(fn, "__name__", "callback")
        return call

    return wrap


def pager_text(start: int, count: int, total: int | None, more: bool) -> str:
    """``rows 26–50 of 10,000`` (or ``rows 26–50 of 51+`` when the total is unknown)."""
    if count == 0:
        return "no rows" if not start else f"no rows after {start:,}"
    a, b = start + 1, start + count
    if total is not None:
        return f"rows {a:,}–{b:,} of {total:,}"
    return f"rows {a:,}–{b:,}" + (f" of {b + 1:,}+" if more else f" of {b:,}")

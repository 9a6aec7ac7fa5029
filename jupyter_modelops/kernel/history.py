"""What the kernel has executed, in which order, and where those cells sit in the notebook.

Every executed cell (tracked or not) is analysed for the names it defines and uses, so
``%%track`` can tell when a cell depends on state that a cell *below it* produced —
the classic out-of-order notebook that nobody can re-run top to bottom.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .cellnames import analyse


@dataclass
class Execution:
    cell_id: str | None
    execution_count: int
    source: str
    defined: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)


def notebook_path(user_ns: dict | None = None) -> str | None:
    """The notebook this kernel serves, when the Jupyter server told the kernel."""
    candidates = [
        (user_ns or {}).get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
        (user_ns or {}).get("__vsc_ipynb_file__"),
    ]
    for cand in candidates:
        if not isinstance(cand, str) or not cand.endswith(".ipynb"):
            continue
        for path in (Path(cand), Path.cwd() / cand, Path.cwd() / Path(cand).name):
            if path.is_file():
                return str(path.resolve())
        return cand
    return None


class ExecutionHistory:
    """Per-kernel record of executions, fed by IPython's ``pre_run_cell`` event."""

    def __init__(self) -> None:
        self.executions: list[Execution] = []
        self.last_definer: dict[str, Execution] = {}
        self.current: Execution | None = None
        self._order_cache: tuple[str, float, dict[str, int]] | None = None

    # fed by IPython events ---------------------------------------------------
    def pre_run_cell(self, info) -> None:
        source = getattr(info, "raw_cell", "") or ""
        cell_id = getattr(info, "cell_id", None)
        self.current = Execution(cell_id, 0, source)

    def post_run_cell(self, result) -> None:
        ex = self.current
        if ex is None:
            return
        ex.execution_count = getattr(result, "execution_count", None) or 0
        try:
            names = analyse(_python_only(ex.source))
            ex.defined, ex.used = names.defined, names.used
        except SyntaxError:
            pass
        self.executions.append(ex)
        for name in ex.defined:
            self.last_definer[name] = ex
        self.current = None

    # questions ----------------------------------------------------------------
    def code_hash(self, extra: str = "") -> str:
        """Hash of the code executed so far in this kernel, in execution order."""
        h = hashlib.sha256()
        for ex in self.executions:
            h.update(ex.source.encode())
            h.update(b"\n\x00")
        h.update(extra.encode())
        return h.hexdigest()

    def notebook_order(self, path: str | None) -> dict[str, int]:
        """cell id -> position in the saved notebook (empty if unknown)."""
        if not path or not os.path.isfile(path):
            return {}
        mtime = os.path.getmtime(path)
        if self._order_cache and self._order_cache[:2] == (path, mtime):
            return self._order_cache[2]
        try:
            with open(path, encoding="utf-8") as fh:
                nb = json.load(fh)
            order = {c["id"]: i for i, c in enumerate(nb.get("cells", [])) if isinstance(c, dict) and "id" in c}
        except (OSError, ValueError, KeyError, TypeError):
            order = {}
        self._order_cache = (path, mtime, order)
        return order

    def out_of_order(self, cell_id: str | None, source: str, path: str | None) -> list[dict]:
        """Names this cell uses whose current value comes from a cell *below* it."""
        if not cell_id:
            return []
        order = self.notebook_order(path)
        here = order.get(cell_id)
        if here is None:
            return []
        try:
            used = analyse(_python_only(source)).used
        except SyntaxError:
            return []
        problems = []
        for name in sorted(used):
            definer = self.last_definer.get(name)
            if definer is None or definer.cell_id in (None, cell_id):
                continue
            pos = order.get(definer.cell_id)
            if pos is not None and pos > here:
                problems.append({
                    "name": name, "defined_by_cell": definer.cell_id, "defined_at_position": pos + 1,
                    "cell_position": here + 1, "execution_count": definer.execution_count,
                })
        return problems


def _python_only(source: str) -> str:
    """Drop magic and shell lines so the rest parses as Python."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)

"""From a notebook to its steps: cell tags, ``%%step`` cells, or Markdown headings.

Tags (Kale's, with papermill's ``parameters``):

==========================  ===============================================================
``block:NAME``/``step:NAME``  this cell starts (or, if NAME exists, continues) step NAME;
                              untagged cells that follow belong to the same step
``prev:NAME``                 the step runs after step NAME (checked against the dataflow)
``imports``                   code every step needs first (imports, settings)
``functions``                 helper definitions every step may use
``pipeline-parameters``       ``NAME = literal`` lines: the pipeline's parameters
``parameters``                the same, as papermill spells it
``pipeline-metrics``          names (``accuracy`` or ``print(accuracy)``) reported as metrics
``pipeline-outputs``          names whose final values the parity check compares
``skip``                      not part of the pipeline
==========================  ===============================================================

A cell whose first line is ``%%step NAME [--after A B]`` is the same as ``block:NAME``
with ``prev:A prev:B``. A notebook with neither gets one step per top-level Markdown
section (the shallowest heading level that splits the code into two or more parts), or a
single step. Steps are anchored to cell ids: the anchor (the id of a step's first cell)
maps a later edit of the notebook back to the same step, and a re-export keeps the names
of heading-derived steps whose anchor cell still exists.
"""

from __future__ import annotations

import ast
import hashlib
import keyword
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInput

STEP_TAG = re.compile(r"^(?:block|step):(.+)$")
PREV_TAG = re.compile(r"^prev:(.+)$")
SPECIAL_TAGS = {"imports", "functions", "pipeline-parameters", "parameters", "pipeline-metrics",
                "pipeline-outputs", "skip"}
IGNORED_TAG_PREFIXES = ("limit:", "annotation:", "label:", "image:")  # Kale's, not ours

# Cell magics whose body is plain Python that runs once: the magic line is dropped.
PYTHON_CELL_MAGICS = {"track", "time", "capture", "step", "prun", "timeit"}
# Cell magics that only render something: such a cell has no code for the pipeline.
DISPLAY_CELL_MAGICS = {"html", "HTML", "markdown", "latex", "javascript", "js", "svg"}
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_NUMBERING = re.compile(r"^\s*(?:step\s+)?\d+(?:\.\d+)*[.)]?\s+", re.I)


@dataclass
class Cell:
    """One notebook cell, its Python code once IPython-only lines are dropped."""

    index: int  # position among all cells (0-based)
    id: str
    cell_type: str
    source: str
    tags: list[str] = field(default_factory=list)
    code: str = ""  # Python code (code cells); magics and shell lines become comments
    magic_args: list[str] | None = None  # words after %%step

    @property
    def number(self) -> int:
        """The cell's 1-based position, as people count cells."""
        return self.index + 1

    def label(self) -> str:
        return f"cell {self.number} ({self.id[:8]})"


@dataclass
class StepDef:
    name: str
    cells: list[Cell]
    after: list[str] = field(default_factory=list)  # explicit prev: / --after
    title: str = ""
    origin: str = "tag"  # tag | magic | heading | single | setup

    @property
    def anchor(self) -> str:
        return self.cells[0].id


@dataclass
class NotebookPlan:
    path: str
    name: str
    mode: str  # tagged | headings | single
    cells: list[Cell]
    steps: list[StepDef]
    imports: list[Cell] = field(default_factory=list)
    functions: list[Cell] = field(default_factory=list)
    parameter_cells: list[Cell] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    metrics_cells: list[Cell] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    outputs_cells: list[Cell] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    skipped: list[Cell] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    code_hash: str = ""
    kernel_name: str = "python3"

    def step_of_cell(self, cell_id: str) -> str | None:
        for step in self.steps:
            if any(c.id == cell_id for c in step.cells):
                return step.name
        return None


# ---------------------------------------------------------------------- reading

def read_notebook(path: str | Path) -> dict:
    """The notebook's JSON (nbformat 4; older ones are converted by nbformat). Read as
    plain JSON: importing nbformat costs more than exporting a large notebook."""
    import json

    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"no such notebook: {path}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{p.name} is not a readable notebook: {str(exc).splitlines()[0][:200]}") from None
    return as_notebook(data, p.name)


def as_notebook(data, name: str = "the notebook") -> dict:
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or not all(
            isinstance(c, dict) for c in data["cells"]):
        raise InvalidInput(f"{name} is not a notebook (no list of cells)")
    if isinstance(data.get("nbformat"), int) and data["nbformat"] < 4:
        import json

        import nbformat

        return nbformat.reads(json.dumps(data), as_version=4)
    return data


def notebook_cells(nb) -> list[Cell]:
    cells = []
    for i, c in enumerate(nb.get("cells", [])):
        source = c.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        tags = [str(t).strip() for t in (c.get("metadata", {}) or {}).get("tags", []) or []]
        cid = c.get("id") or f"cell-{i}"
        cells.append(Cell(i, str(cid), c.get("cell_type", "code"), source, tags))
    return cells


def code_hash(cells: list[Cell]) -> str:
    """Hash of the notebook's code: every code cell's source, in notebook order (the same
    way ``ExecutionHistory.code_hash`` hashes a kernel's executed cells)."""
    h = hashlib.sha256()
    for c in cells:
        if c.cell_type == "code":
            h.update(c.source.encode())
            h.update(b"\n\x00")
    return h.hexdigest()


# ---------------------------------------------------------------------- IPython syntax

def clean_code(cell: Cell) -> None:
    """Fill ``cell.code`` (Python only) and ``cell.magic_args`` from ``cell.source``."""
    lines = cell.source.splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        words = first[2:].split(None, 1)
        magic = words[0] if words else ""
        if magic in DISPLAY_CELL_MAGICS:
            cell.code = ""
            return
        if magic not in PYTHON_CELL_MAGICS:
            raise InvalidInput(
                f"{cell.label()} runs %%{magic}, which a pipeline step cannot run; "
                "tag the cell `skip` or rewrite it in Python")
        if magic == "step":
            try:
                cell.magic_args = shlex.split(words[1] if len(words) > 1 else "")
            except ValueError as exc:
                raise InvalidInput(f"{cell.label()}: cannot parse %%step arguments ({exc})") from None
        lines[0] = f"# %%{first[2:]}"
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) and not stripped.startswith("%%"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}{'pass  ' if indent else ''}# {stripped}  (IPython; not run by the pipeline)")
        else:
            out.append(line)
    cell.code = "\n".join(out)


def check_syntax(cell: Cell, where: str) -> ast.Module:
    try:
        return ast.parse(cell.code)
    except SyntaxError as exc:
        hint = ""
        if _uses_ipython_syntax(cell.code):
            hint = " (IPython-only syntax such as `x = !cmd` or `obj?` cannot run in a pipeline)"
        line = exc.lineno or 0
        text = (exc.text or "").strip()
        raise InvalidInput(
            f"{where}: syntax error in {cell.label()}, line {line}: {exc.msg}"
            + (f": `{text[:80]}`" if text else "") + hint,
            cell_id=cell.id, cell=cell.number, line=line) from None


def _uses_ipython_syntax(code: str) -> bool:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        ast.parse(TransformerManager().transform_cell(code))
        return True
    except Exception:  # noqa: BLE001
        return False


# ---------------------------------------------------------------------- names

def step_name(text: str, taken: set[str] | None = None) -> str:
    """A Python identifier for a step, from a tag or a heading ("2. Train the model" -> train_the_model)."""
    text = _NUMBERING.sub("", text.strip())
    text = re.sub(r"[`*_~\[\]()]+", " ", text)
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    if len(name) > 40:
        name = name[:40].rsplit("_", 1)[0] or name[:40]
    if not name:
        name = "step"
    if name[0].isdigit():
        name = f"step_{name}"
    if keyword.iskeyword(name) or name in ("run", "main"):
        name += "_"
    if taken is not None:
        base, n = name, 2
        while name in taken:
            name = f"{base}_{n}"
            n += 1
        taken.add(name)
    return name


def _tag_name(tag_value: str, cell: Cell) -> str:
    value = tag_value.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", value):
        raise InvalidInput(f"{cell.label()}: step name {value!r} must be letters, digits, _ or -")
    name = value.replace("-", "_").lower()
    if keyword.iskeyword(name) or name in ("run", "main"):
        name += "_"
    return name


def headings(cell: Cell) -> list[tuple[int, str]]:
    out, fenced = [], False
    for line in cell.source.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        m = None if fenced else _HEADING.match(line)
        if m:
            out.append((len(m.group(1)), m.group(2).strip()))
    return out


# ---------------------------------------------------------------------- planning

def plan_notebook(nb, path: str | Path = "", *, previous: dict | None = None) -> NotebookPlan:
    """The steps of a notebook (``nb``: its JSON, or a path). ``previous`` is
    an earlier export's ``pipeline.json``: heading-derived steps whose anchor cell still
    exists keep the name they had."""
    if isinstance(nb, (str, Path)):
        path = path or nb
        nb = read_notebook(nb)
    cells = notebook_cells(nb)
    name = Path(str(path)).stem if path else "notebook"
    kernel = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("name") or "python3"
    plan = NotebookPlan(str(path), name, "single", cells, [], code_hash=code_hash(cells), kernel_name=kernel)
    code_cells = [c for c in cells if c.cell_type == "code"]
    for c in code_cells:
        clean_code(c)
    has_steps = any(STEP_TAG.match(t) for c in code_cells for t in c.tags) or any(
        c.magic_args is not None for c in code_cells)
    plan.mode = "tagged" if has_steps else "headings"

    # special cells first: they are the same in every mode
    regular: list[Cell] = []
    for c in code_cells:
        tags = set(c.tags)
        unknown = [t for t in tags if t not in SPECIAL_TAGS and not STEP_TAG.match(t)
                   and not PREV_TAG.match(t) and not t.startswith(IGNORED_TAG_PREFIXES)]
        if unknown:
            plan.notes.append(f"{c.label()}: tags {', '.join(sorted(unknown))} are not pipeline tags; ignored")
        if "skip" in tags:
            plan.skipped.append(c)
        elif "imports" in tags:
            plan.imports.append(c)
        elif "functions" in tags:
            plan.functions.append(c)
        elif tags & {"pipeline-parameters", "parameters"}:
            plan.parameter_cells.append(c)
        elif "pipeline-metrics" in tags:
            plan.metrics_cells.append(c)
        elif "pipeline-outputs" in tags:
            plan.outputs_cells.append(c)
        else:
            regular.append(c)
    if plan.mode == "tagged":
        _plan_tagged(plan, regular)
    else:
        _plan_headings(plan, cells, regular, previous)
    _parse_parameters(plan)
    plan.metrics = _listed_names(plan.metrics_cells, "pipeline-metrics")
    plan.outputs = _listed_names(plan.outputs_cells, "pipeline-outputs")
    if not plan.steps:
        raise InvalidInput(f"{name}: no code to export (every code cell is empty, skipped or special)")
    _describe_steps(plan)
    return plan


def _is_empty(cell: Cell) -> bool:
    try:
        tree = ast.parse(cell.code)
    except SyntaxError:
        return False
    return not tree.body


def _only_imports(cell: Cell) -> bool:
    try:
        tree = ast.parse(cell.code)
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in tree.body)


def _plan_tagged(plan: NotebookPlan, cells: list[Cell]) -> None:
    by_name: dict[str, StepDef] = {}
    current: StepDef | None = None
    for c in cells:
        starts: str | None = None
        after: list[str] = []
        for t in c.tags:
            m = STEP_TAG.match(t)
            if m:
                if starts is not None:
                    raise InvalidInput(f"{c.label()} has two step tags ({starts} and {m.group(1)})")
                starts = _tag_name(m.group(1), c)
            m = PREV_TAG.match(t)
            if m:
                after.append(_tag_name(m.group(1), c))
        origin = "tag"
        if c.magic_args is not None:
            args = list(c.magic_args)
            if not args or args[0].startswith("-"):
                raise InvalidInput(f"{c.label()}: %%step needs a name: %%step NAME [--after A B]")
            magic_name = _tag_name(args.pop(0), c)
            if starts is not None and starts != magic_name:
                raise InvalidInput(f"{c.label()}: tag says step {starts} but %%step says {magic_name}")
            starts, origin = magic_name, "magic"
            if args:
                if args[0] != "--after" or len(args) < 2:
                    raise InvalidInput(f"{c.label()}: %%step takes NAME [--after STEP ...], not {' '.join(args)}")
                after += [_tag_name(a, c) for a in args[1:]]
        if starts is not None:
            current = by_name.get(starts)
            if current is None:
                current = by_name[starts] = StepDef(starts, [], origin=origin)
                plan.steps.append(current)
            current.cells.append(c)
        elif current is None:
            if _is_empty(c):
                continue
            if _only_imports(c):
                plan.imports.append(c)
                plan.notes.append(f"{c.label()} (before the first step, imports only) is used as an `imports` cell")
                continue
            current = by_name["setup"] = StepDef("setup", [c], origin="setup")
            plan.steps.append(current)
            plan.notes.append(f"{c.label()} comes before the first step tag: it starts a step named `setup`")
        else:
            current.cells.append(c)
        if prev_tag_without_step(c, starts):
            plan.notes.append(f"{c.label()}: prev: tags on a cell that does not start a step apply to "
                              f"step {current.name}")
        for a in after:
            if a not in current.after:
                current.after.append(a)


def prev_tag_without_step(c: Cell, starts: str | None) -> bool:
    return starts is None and any(PREV_TAG.match(t) for t in c.tags)


def _plan_headings(plan: NotebookPlan, cells: list[Cell], regular: list[Cell], previous: dict | None) -> None:
    regular_ids = {c.id for c in regular}
    marks: list[tuple[int, int, str]] = []  # (cell index, level, text)
    for c in cells:
        if c.cell_type == "markdown":
            for level, text in headings(c):
                marks.append((c.index, level, text))
    code_positions = [c.index for c in regular if not _is_empty(c)]

    def sections(level: int) -> int:
        heads = [m for m in marks if m[1] <= level]
        count = 0
        for i, (pos, lvl, _) in enumerate(heads):
            if lvl != level:
                continue
            end = heads[i + 1][0] if i + 1 < len(heads) else 10**9
            if any(pos < p < end for p in code_positions):
                count += 1
        return count

    level = next((lv for lv in range(1, 7) if sections(lv) >= 2), None)
    prev_names = _previous_names(previous)
    taken: set[str] = set()
    if level is None:
        plan.mode = "single"
        title = next((t for _, lv, t in sorted(marks, key=lambda m: (m[1], m[0]))), "") if marks else ""
        body = [c for c in regular if not _is_empty(c)]
        if not body:
            return
        name = prev_names.get(body[0].id) or step_name(title or plan.name or "main", taken)
        plan.steps.append(StepDef(name, body, title=title, origin="single"))
        return
    heads = [m for m in marks if m[1] == level]
    title_before = next((t for pos, lv, t in marks if lv < level), "")
    groups: list[tuple[str, list[Cell]]] = [(title_before or "setup", [])]
    hi = 0
    for c in cells:
        while hi < len(heads) and heads[hi][0] <= c.index:
            groups.append((heads[hi][2], []))
            hi += 1
        if c.id in regular_ids and not _is_empty(c):
            groups[-1][1].append(c)
    for i, (title, body) in enumerate(groups):
        if not body:
            continue
        if i == 0 and all(_only_imports(c) for c in body):
            plan.imports.extend(body)
            continue
        origin = "heading" if i else "setup"
        name = prev_names.get(body[0].id)
        if name and name not in taken:
            taken.add(name)
        else:
            name = step_name(title, taken)
        plan.steps.append(StepDef(name, body, title=title, origin=origin))


def _previous_names(previous: dict | None) -> dict[str, str]:
    out = {}
    for step in (previous or {}).get("steps", []):
        if step.get("origin") in ("heading", "single", "setup") and step.get("anchor"):
            out[step["anchor"]] = step["name"]
    return out


def _describe_steps(plan: NotebookPlan) -> None:
    """Title a tagged step from the Markdown cell just above its first cell."""
    by_index = {c.index: c for c in plan.cells}
    for step in plan.steps:
        if step.title:
            continue
        above = by_index.get(step.cells[0].index - 1)
        if above is not None and above.cell_type == "markdown":
            hs = headings(above)
            text = hs[0][1] if hs else above.source.strip().splitlines()[0] if above.source.strip() else ""
            step.title = text.strip("# ").strip()[:120]


# ---------------------------------------------------------------------- parameters, metrics

def _parse_parameters(plan: NotebookPlan) -> None:
    for c in plan.parameter_cells:
        tree = check_syntax(c, "parameters")
        for stmt in tree.body:
            targets, value = _assignment(stmt)
            if targets is None:
                raise InvalidInput(
                    f"parameters {c.label()}, line {stmt.lineno}: only `NAME = value` lines with literal "
                    f"values belong in a parameters cell (`{ast.get_source_segment(c.code, stmt) or ''}`)"[:300],
                    cell_id=c.id, line=stmt.lineno)
            try:
                val = ast.literal_eval(value)
            except (ValueError, SyntaxError, TypeError):
                raise InvalidInput(
                    f"parameters {c.label()}, line {stmt.lineno}: the value of "
                    f"{', '.join(targets)} is not a literal (numbers, strings, lists, dicts)",
                    cell_id=c.id, line=stmt.lineno) from None
            if len(targets) == 1:
                plan.parameters[targets[0]] = val
            else:
                if not isinstance(val, (tuple, list)) or len(val) != len(targets):
                    raise InvalidInput(f"parameters {c.label()}, line {stmt.lineno}: cannot unpack")
                plan.parameters.update(zip(targets, val))


def _assignment(stmt) -> tuple[list[str] | None, ast.AST | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        t = stmt.targets[0]
        if isinstance(t, ast.Name):
            return [t.id], stmt.value
        if isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts):
            return [e.id for e in t.elts], stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return [stmt.target.id], stmt.value
    return None, None


def _listed_names(cells: list[Cell], tag: str) -> list[str]:
    """Names listed in a metrics/outputs cell: ``acc``, ``acc, f1``, ``print(acc)``."""
    names: list[str] = []
    for c in cells:
        tree = check_syntax(c, tag)
        for stmt in tree.body:
            expr = stmt.value if isinstance(stmt, ast.Expr) else None
            found = _names_in(expr) if expr is not None else None
            if not found:
                raise InvalidInput(
                    f"{tag} {c.label()}, line {stmt.lineno}: list names only "
                    f"(`accuracy`, `accuracy, f1` or `print(accuracy)`)", cell_id=c.id, line=stmt.lineno)
            names += [n for n in found if n not in names]
    return names


def _names_in(expr) -> list[str] | None:
    if isinstance(expr, ast.Name):
        return [expr.id]
    if isinstance(expr, ast.Tuple):
        parts = [_names_in(e) for e in expr.elts]
        return None if any(p is None for p in parts) else [n for p in parts for n in p]
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in ("print", "display"):
        parts = [_names_in(a) for a in expr.args]
        return None if not parts or any(p is None for p in parts) else [n for p in parts for n in p]
    return None

"""Which names every step reads and writes, and so the graph of the pipeline.

The notebook is read top to bottom as the kernel would run it. Every top-level statement
of a step is analysed with ``kernel.cellnames`` (the analysis that also drives the
out-of-order warnings of ``%%track``); a name it reads before the step binds it resolves
to the most recent binding above it in the notebook:

* a *parameter* (``pipeline-parameters`` / papermill ``parameters`` cell) becomes an
  argument of the step;
* an *import* is repeated in the step's module (imports are code, not data);
* a *function or class* defined elsewhere is copied into the step, and the names its
  body reads are resolved where the step calls it (late binding, as in the notebook);
* a *value* bound by another step becomes an input of this step and an output of that
  step — an edge of the graph.

A step that changes a value in place (``df["x"] = ...``, ``model.fit(X, y)``,
``items.append(...)``, ``shuffle(rows)``) counts as producing it again, so later steps
read the changed value, as they would in the notebook.

Export is refused, with the step and the name, when a name is read but never bound above
(or bound only further down), when the steps form a cycle, or when a cell does not parse.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..kernel.cellnames import analyse
from .notebook import Cell, NotebookPlan, StepDef, check_syntax

# Methods that only look at an object: a bare ``df.head()`` does not produce ``df`` again.
PURE_METHODS = frozenset({
    "head", "tail", "describe", "info", "show", "plot", "hist", "boxplot", "print", "display",
    "summary", "value_counts", "nunique", "unique", "count", "sample", "copy", "to_csv", "to_parquet",
    "to_json", "to_excel", "to_html", "to_markdown", "savefig", "predict", "predict_proba", "score",
    "transform", "get_params", "mean", "sum", "min", "max", "std", "corr", "isna", "isnull",
    "memory_usage", "keys", "values", "items", "get", "format", "join", "split", "strip", "upper",
    "lower", "startswith", "endswith", "write", "log_metric", "log_metrics", "log_param",
    "log_params", "log_artifact", "log_figure", "log_text", "log_dict", "log_input", "set_tag",
})
# Functions known to change their argument in place.
MUTATING_FUNCTIONS = frozenset({"shuffle"})
IPYTHON_NAMES = frozenset({"display", "get_ipython", "In", "Out"})


@dataclass
class Definition:
    """A top-level ``def``/``class`` that steps other than its own may use."""

    name: str
    source: str
    cell: Cell
    step: str | None  # None: a `functions` cell
    deferred: set[str]  # names its body reads when it is called
    immediate: set[str]  # names read when the definition runs (decorators, defaults, bases)
    lineno: int = 1  # first line in its cell


@dataclass
class Binding:
    kind: str  # param | import | common | def | data | deleted
    position: int  # cell index
    step: str | None = None
    source: str | None = None  # import statement
    shared: bool = False  # import from an imports/functions cell: every step has it
    definition: Definition | None = None


@dataclass
class CellCode:
    """A cell's code as it goes into a step body: hoisted imports removed, fixes applied."""

    cell: Cell
    lines: list[tuple[int, str]]  # (line number in the cell, text)


@dataclass
class Step:
    name: str
    title: str
    origin: str
    cells: list[Cell]
    explicit_after: list[str]
    inputs: dict[str, str] = field(default_factory=dict)  # name -> producing step
    params: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # module-level import statements
    body_imports: list[str] = field(default_factory=list)  # imports the body must re-bind
    common: list[tuple[Cell, str, int]] = field(default_factory=list)  # imports/functions-cell code
    definitions: list[Definition] = field(default_factory=list)  # copied from elsewhere
    outputs: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)  # pipeline-outputs (or leaf defaults)
    after: list[str] = field(default_factory=list)
    code: list[CellCode] = field(default_factory=list)
    uses_display: bool = False
    local_names: set[str] = field(default_factory=set)  # names bound inside run()
    assigned: list[str] = field(default_factory=list)  # names assigned at top level, in order

    @property
    def anchor(self) -> str:
        return self.cells[0].id


@dataclass
class Pipeline:
    plan: NotebookPlan
    steps: list[Step]  # topological order (notebook order where free)
    parameters: dict
    metrics: dict[str, str]  # metric -> step
    declared: dict[str, str]  # declared output -> step
    common_imports: list[str]
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.plan.name

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def edges(self) -> list[tuple[str, str]]:
        return [(a, s.name) for s in self.steps for a in s.after]


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[int, str, dict]] = []

    def add(self, position: int, message: str, **details) -> None:
        self.items.append((position, message, details))

    def raise_first(self) -> None:
        if not self.items:
            return
        self.items.sort(key=lambda t: t[0])
        _, message, details = self.items[0]
        more = len(self.items) - 1
        if more:
            message += f" ({more} more problem{'s' if more > 1 else ''}: " + "; ".join(
                m for _, m, _ in self.items[1:3]) + (" …" if more > 2 else "") + ")"
        raise InvalidInput(message, problems=[m for _, m, _ in self.items], **details)


def _names(node) -> tuple[set[str], set[str]]:
    names = analyse(ast.Module(body=[node], type_ignores=[]))
    return names.used, names.defined


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets_mutated(stmt) -> set[str]:
    """Names whose object a top-level statement changes without rebinding the name."""
    out: set[str] = set()
    targets: list = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Delete):
        targets = list(stmt.targets)
    stack = list(targets)
    while stack:
        t = stack.pop()
        if isinstance(t, (ast.Tuple, ast.List)):
            stack.extend(t.elts)
        elif isinstance(t, ast.Starred):
            stack.append(t.value)
        elif isinstance(t, (ast.Attribute, ast.Subscript)):
            root = _root_name(t.value)
            if root:
                out.add(root)
    return out


def _call_mutations(stmt, is_user_function) -> set[str]:
    """``obj.method(...)`` and ``user_function(obj)`` statements whose result is dropped."""
    if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
        return set()
    call = stmt.value
    out: set[str] = set()
    if isinstance(call.func, ast.Attribute):
        if call.func.attr not in PURE_METHODS:
            root = _root_name(call.func.value)
            if root:
                out.add(root)
        if call.func.attr in MUTATING_FUNCTIONS:
            out |= {a.id for a in call.args if isinstance(a, ast.Name)}
    elif isinstance(call.func, ast.Name):
        fname = call.func.id
        if fname in MUTATING_FUNCTIONS or is_user_function(fname):
            out |= {a.id for a in call.args if isinstance(a, ast.Name)}
    return out


def _definition(stmt, cell: Cell, step: str | None) -> Definition:
    used, _ = _names(stmt)
    if isinstance(stmt, ast.ClassDef):
        parts = [*stmt.decorator_list, *stmt.bases, *[k.value for k in stmt.keywords]]
    else:
        args = stmt.args
        parts = [*stmt.decorator_list, *args.defaults, *[d for d in args.kw_defaults if d is not None]]
    immediate: set[str] = set()
    for p in parts:
        immediate |= analyse(ast.Module(body=[ast.Expr(p)], type_ignores=[])).used
    first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
    source = "\n".join(cell.code.splitlines()[first - 1: stmt.end_lineno])
    return Definition(stmt.name, source, cell, step, used - immediate, immediate, first)


def _import_names(stmt) -> list[str]:
    if any(a.name == "*" for a in stmt.names):
        return ["*"]
    return [(a.asname or a.name).split(".")[0] for a in stmt.names]


def _stmt_source(cell: Cell, stmt) -> str:
    return "\n".join(cell.code.splitlines()[stmt.lineno - 1: stmt.end_lineno])


class _StepState:
    def __init__(self, sd: StepDef) -> None:
        self.step = Step(sd.name, sd.title, sd.origin, list(sd.cells), list(sd.after))
        self.bound: dict[str, int] = {}  # name -> position of its latest binding here
        self.bind_positions: dict[str, list[int]] = {}
        self.local_defs: dict[str, Definition] = {}
        self.imports: list[str] = []  # from other cells
        self.own_imports: dict[str, list[tuple[Cell, ast.stmt]]] = {}
        self.definitions: dict[str, Definition] = {}
        self.reads: list[tuple[str, str, int]] = []  # (name, producer, position)
        self.resolved_deferred: set[str] = set()


def analyse_pipeline(plan: NotebookPlan) -> Pipeline:
    """The pipeline of a planned notebook; raises ``InvalidInput`` for the first problem."""
    problems = _Problems()
    env: dict[str, Binding] = {}
    states = {sd.name: _StepState(sd) for sd in plan.steps}
    role: dict[str, tuple[str, str | None]] = {}
    for c in plan.imports:
        role[c.id] = ("imports", None)
    for c in plan.functions:
        role[c.id] = ("functions", None)
    for c in plan.parameter_cells:
        role[c.id] = ("parameters", None)
    for c in plan.metrics_cells:
        role[c.id] = ("metrics", None)
    for c in plan.outputs_cells:
        role[c.id] = ("outputs", None)
    for sd in plan.steps:
        for c in sd.cells:
            role[c.id] = ("step", sd.name)
    common_imports: list[str] = []
    common_code: list[tuple[Cell, str, int]] = []
    common_params: list[str] = []
    metrics: dict[str, str] = {}
    declared: dict[str, str] = {}
    later_definers = _later_definers(plan)

    def is_user_function(name: str, st: _StepState | None) -> bool:
        if st is not None and name in st.local_defs:
            return True
        b = env.get(name)
        return b is not None and b.kind == "def"

    def undefined(st_name: str, name: str, cell: Cell, line: int) -> None:
        where = f"step `{st_name}` ({cell.label()}, line {line})"
        later = later_definers.get(name)
        if later and later[0] > cell.index:
            msg = (f"{where} uses `{name}`, which is defined only further down, by "
                   f"{later[1]} — the notebook runs only out of order")
        else:
            msg = f"{where} uses `{name}`, which no cell above it defines"
        problems.add(cell.index, msg, step=st_name, name=name, cell_id=cell.id, cell=cell.number, line=line)

    def resolve(st: _StepState, name: str, cell: Cell, line: int, stack: tuple = ()) -> None:
        if name in st.bound or name in IPYTHON_NAMES:
            if name == "display":
                st.step.uses_display = True
            return
        b = env.get(name)
        if b is None:
            undefined(st.step.name, name, cell, line)
            return
        if b.kind == "param":
            if name not in st.step.params:
                st.step.params.append(name)
            st.bound[name] = -1
        elif b.kind == "import":
            if not b.shared and b.source not in st.imports:
                st.imports.append(b.source)
        elif b.kind == "common":
            pass
        elif b.kind == "def":
            d = b.definition
            if d.step == st.step.name:
                return
            if name in stack:
                return
            st.definitions[name] = d
            st.bound[name] = -1
            for n in sorted(d.immediate | d.deferred):
                resolve(st, n, cell, line, stack + (name,))
        elif b.kind == "data":
            st.step.inputs[name] = b.step
            st.bound[name] = -1
            st.reads.append((name, b.step, cell.index))
        elif b.kind == "deleted":
            problems.add(cell.index, f"step `{st.step.name}` ({cell.label()}, line {line}) uses `{name}`, "
                         f"which step `{b.step}` deleted", step=st.step.name, name=name)

    def use_local_def(st: _StepState, name: str, cell: Cell, line: int, seen: set) -> None:
        d = st.local_defs.get(name)
        if d is None or name in seen:
            return
        seen.add(name)
        for n in sorted(d.deferred):
            if n in st.local_defs:
                use_local_def(st, n, cell, line, seen)
            elif n not in st.bound:
                resolve(st, n, cell, line)

    for cell in plan.cells:
        r = role.get(cell.id)
        if r is None:
            continue
        kind, sname = r
        tree = check_syntax(cell, f"step `{sname}`" if sname else kind)
        if kind in ("imports", "functions"):
            for stmt in tree.body:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    src = _stmt_source(cell, stmt)
                    common_imports.append(src)
                    for n in _import_names(stmt):
                        env[n] = Binding("import", cell.index, source=src, shared=True)
                elif kind == "functions" and isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    d = _definition(stmt, cell, None)
                    env[d.name] = Binding("def", cell.index, definition=d)
                else:
                    used, defined = _names(stmt)
                    for n in sorted(used):
                        b = env.get(n)
                        if b is not None and b.kind == "param" and n not in common_params:
                            common_params.append(n)
                        if b is None or b.kind not in ("import", "common", "param", "def"):
                            if n not in IPYTHON_NAMES:
                                problems.add(cell.index, f"{kind} {cell.label()}, line {stmt.lineno} uses `{n}`, "
                                             "which no imports, functions or parameters cell above defines",
                                             name=n, cell_id=cell.id)
                    common_code.append((cell, _stmt_source(cell, stmt), stmt.lineno))
                    for n in defined:
                        env[n] = Binding("common", cell.index)
            continue
        if kind == "parameters":
            for stmt in tree.body:
                for t in ast.walk(stmt):
                    if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store):
                        env[t.id] = Binding("param", cell.index)
            continue
        if kind in ("metrics", "outputs"):
            names = plan.metrics if kind == "metrics" else plan.outputs
            for n in names:
                b = env.get(n)
                if b is None or b.kind != "data":
                    what = "a parameter" if b is not None and b.kind == "param" else "no step above it"
                    if b is not None and b.kind in ("import", "def", "common"):
                        what = "not a value a step computes"
                    if b is None or b.kind != "data":
                        problems.add(cell.index, f"pipeline-{kind} {cell.label()} lists `{n}`, but {what} "
                                     "defines it", name=n, cell_id=cell.id)
                    continue
                (metrics if kind == "metrics" else declared)[n] = b.step
                st = states[b.step]
                target = st.step.metrics if kind == "metrics" else st.step.declared
                if n not in target:
                    target.append(n)
                st.reads.append((n, b.step, cell.index))
            continue
        # a step cell
        st = states[sname]
        for stmt in tree.body:
            line = stmt.lineno
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                src = _stmt_source(cell, stmt)
                for n in _import_names(stmt):
                    env[n] = Binding("import", cell.index, step=sname, source=src)
                    st.own_imports.setdefault(n, []).append((cell, stmt))
                continue
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                d = _definition(stmt, cell, sname)
                for n in sorted(d.immediate):
                    resolve(st, n, cell, line)
                st.local_defs[d.name] = d
                st.bound[d.name] = cell.index
                env[d.name] = Binding("def", cell.index, step=sname, definition=d)
                continue
            if isinstance(stmt, ast.Global):
                continue
            used, defined = _names(stmt)
            if not st.step.uses_display and any(isinstance(n, ast.Name) and n.id == "display" for n in ast.walk(stmt)):
                st.step.uses_display = True
            mutated = _targets_mutated(stmt) | _call_mutations(stmt, lambda f, st=st: is_user_function(f, st))
            for n in sorted(used | mutated):
                if n in st.local_defs:
                    use_local_def(st, n, cell, line, set())
                else:
                    resolve(st, n, cell, line)
                    b = env.get(n)
                    if b is not None and b.kind == "def" and b.definition.step == sname:
                        use_local_def(st, n, cell, line, set())
            if isinstance(stmt, ast.Delete):
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        env[t.id] = Binding("deleted", cell.index, step=sname)
                        st.bound.pop(t.id, None)
                defined = {n for n in defined if not any(isinstance(t, ast.Name) and t.id == n for t in stmt.targets)}
            for n in _assigned(stmt):
                if n not in st.step.assigned:
                    st.step.assigned.append(n)
            changed = set(defined)
            for n in mutated:
                b = env.get(n)
                if b is not None and b.kind in ("data", "param"):
                    changed.add(n)
            for n in changed:
                st.bound[n] = cell.index
                st.bind_positions.setdefault(n, []).append(cell.index)
                env[n] = Binding("data", cell.index, step=sname)
                st.local_defs.pop(n, None)
    problems.raise_first()

    steps = [states[sd.name].step for sd in plan.steps]
    # outputs: what other steps read, metrics, declared outputs
    for st in states.values():
        for name, producer in st.step.inputs.items():
            prod = states[producer].step
            if name not in prod.outputs:
                prod.outputs.append(name)
    consumers = {s.name: set() for s in steps}
    for s in steps:
        for p in s.inputs.values():
            consumers[p].add(s.name)
    if not metrics and not declared:  # nothing declared: the last step's results are the outputs
        for s in steps[-1:]:
            if not consumers[s.name] and not any(s.name in t.explicit_after for t in steps):
                s.declared = [n for n in s.assigned if not n.startswith("_") and n not in s.outputs
                              and env.get(n) is not None and env[n].kind == "data" and env[n].step == s.name]
                for n in s.declared:
                    declared[n] = s.name
    for s in steps:
        for n in [*s.metrics, *s.declared]:
            if n not in s.outputs:
                s.outputs.append(n)

    # a value read from a step that changes it again further down cannot be passed on
    for st in states.values():
        for name, producer, pos in st.reads:
            later = [p for p in states[producer].bind_positions.get(name, []) if p > pos]
            if later and producer != st.step.name:
                cell = plan.cells[later[0]]
                problems.add(pos, f"step `{st.step.name}` reads `{name}` from step `{producer}`, which changes it "
                             f"again further down ({cell.label()}); split `{producer}` into two steps",
                             step=st.step.name, name=name)
    problems.raise_first()

    pipeline = Pipeline(plan, steps, dict(plan.parameters), metrics, declared, common_imports,
                        notes=list(plan.notes))
    _edges(pipeline, states, problems)
    problems.raise_first()
    for st in states.values():
        for n in common_params:
            if n not in st.step.params:
                st.step.params.append(n)
        _assemble(st, common_code, plan)
    pipeline.steps = _toposort(pipeline)
    return pipeline


def _assigned(stmt) -> list[str]:
    out: list[str] = []
    targets = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    stack = list(targets)
    while stack:
        t = stack.pop(0)
        if isinstance(t, ast.Name):
            out.append(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            stack.extend(t.elts)
        elif isinstance(t, ast.Starred):
            stack.append(t.value)
    return out


def _later_definers(plan: NotebookPlan) -> dict[str, tuple[int, str]]:
    """name -> (cell index, description) of the last cell binding it (for error hints)."""
    out: dict[str, tuple[int, str]] = {}
    step_of = {c.id: sd.name for sd in plan.steps for c in sd.cells}
    for c in plan.cells:
        if c.cell_type != "code" or not c.code:
            continue
        try:
            defined = analyse(c.code).defined
        except SyntaxError:
            continue
        desc = f"step `{step_of[c.id]}` ({c.label()})" if c.id in step_of else c.label()
        for n in defined:
            out[n] = (c.index, desc)
    return out


def _edges(pipeline: Pipeline, states: dict[str, _StepState], problems: _Problems) -> None:
    names = [s.name for s in pipeline.steps]
    uses_prev = any(s.explicit_after for s in pipeline.steps)
    for s in pipeline.steps:
        for a in s.explicit_after:
            if a not in states:
                problems.add(s.cells[0].index, f"step `{s.name}` runs after `{a}` (prev:{a}), but there is no "
                             f"step `{a}` (steps: {', '.join(names)})", step=s.name)
            elif a == s.name:
                problems.add(s.cells[0].index, f"step `{s.name}` lists itself in prev:", step=s.name)
    if problems.items:
        return
    for s in pipeline.steps:
        data = {p for p in s.inputs.values() if p != s.name}
        s.after = [n for n in names if n in data or n in s.explicit_after]

    def reach(start: str, via_explicit: bool) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            cur = states[todo.pop()].step
            nxt = cur.explicit_after if via_explicit else cur.after
            for a in nxt:
                if a not in seen:
                    seen.add(a)
                    todo.append(a)
        return seen

    if uses_prev:
        for s in pipeline.steps:
            if s.explicit_after or s.inputs:
                declared = reach(s.name, True)
                for name, producer in sorted(s.inputs.items()):
                    if producer not in declared:
                        pipeline.warnings.append(
                            f"step `{s.name}` uses `{name}` from `{producer}` but does not list prev:{producer}; "
                            f"it runs after `{producer}` anyway")
                        declared.add(producer)
                data = set(s.inputs.values())
                upstream = data.union(*(reach(p, False) for p in data)) if data else set()
                for a in s.explicit_after:
                    if a not in upstream:
                        pipeline.notes.append(f"step `{s.name}` runs after `{a}` (prev:{a}) though no value "
                                              f"flows from `{a}` to it")
    cycle = _find_cycle(pipeline)
    if cycle:
        why = []
        for a, b in zip(cycle, cycle[1:]):
            names_ = [n for n, p in states[b].step.inputs.items() if p == a]
            why.append(f"`{b}` uses {', '.join(f'`{n}`' for n in sorted(names_)[:3])} from `{a}`" if names_
                       else f"`{b}` lists prev:{a}")
        first = states[cycle[0]].step.cells[0]
        problems.add(first.index, "the steps form a cycle: " + " → ".join(cycle) + " (" + "; ".join(why) + ")",
                     cycle=cycle)


def _find_cycle(pipeline: Pipeline) -> list[str] | None:
    after = {s.name: s.after for s in pipeline.steps}
    color: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        color[n] = 1
        path.append(n)
        for a in after[n]:
            if color.get(a) == 1:
                i = path.index(a)
                return path[i:] + [a]
            if a not in color:
                found = visit(a)
                if found:
                    return found
        path.pop()
        color[n] = 2
        return None

    for s in pipeline.steps:
        if s.name not in color:
            found = visit(s.name)
            if found:
                # report it in data-flow direction: producer first
                return list(reversed(found))
    return None


def _toposort(pipeline: Pipeline) -> list[Step]:
    order = {s.name: i for i, s in enumerate(pipeline.steps)}
    remaining = {s.name: set(s.after) for s in pipeline.steps}
    out: list[Step] = []
    while remaining:
        ready = sorted((n for n, deps in remaining.items() if not deps), key=order.get)
        n = ready[0]
        out.append(pipeline.step(n))
        del remaining[n]
        for deps in remaining.values():
            deps.discard(n)
    return out


def _assemble(st: _StepState, common_code: list[tuple[Cell, str, int]], plan: NotebookPlan) -> None:
    """Decide where each import goes and produce the step's body lines."""
    step = st.step
    body_bound = set(step.inputs) | set(step.params) | set(step.assigned)
    for sub in st.bind_positions:
        body_bound.add(sub)
    body_bound |= set(st.local_defs)
    hoisted: dict[str, set[int]] = {}
    own_module: list[str] = []
    for c in step.cells:
        tree = ast.parse(c.code)
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names = _import_names(stmt)
                src = _stmt_source(c, stmt)
                if "*" in names or not (set(names) & body_bound):
                    hoisted.setdefault(c.id, set()).update(range(stmt.lineno, stmt.end_lineno + 1))
                    if src not in own_module:
                        own_module.append(src)
    for src in st.imports:
        try:
            names = _import_names(ast.parse(src).body[0])
        except (SyntaxError, IndexError):
            names = []
        if set(names) & body_bound:
            step.body_imports.append(src)
        elif src not in own_module:
            own_module.append(src)
    step.imports = own_module
    order_p = {n: i for i, n in enumerate(plan.parameters)}
    step.params.sort(key=lambda n: order_p.get(n, len(order_p)))
    step.common = list(common_code)
    order = {d.name: (d.cell.index, d.source) for d in st.definitions.values()}
    step.definitions = sorted(st.definitions.values(), key=lambda d: order[d.name])
    run_locals = body_bound | set(st.definitions)
    step.local_names = run_locals
    for c in step.cells:
        drop = hoisted.get(c.id, set())
        lines = c.code.splitlines()
        fixes = _global_fixes(c, run_locals)
        out = []
        for i, text in enumerate(lines, start=1):
            if i in drop:
                continue
            text = fixes.get(i, text)
            out.append((i, text))
        step.code.append(CellCode(c, out))


def _global_fixes(cell: Cell, run_locals: set[str]) -> dict[int, str]:
    """``global`` at a cell's top level is a no-op there but not inside ``run()``: drop it.
    ``global x`` inside a function, where ``x`` is one of the step's names, becomes
    ``nonlocal x`` (the step's names are ``run()``'s locals)."""
    fixes: dict[int, str] = {}
    tree = ast.parse(cell.code)
    lines = cell.code.splitlines()
    top = {id(s) for s in tree.body}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Global):
            continue
        line = lines[node.lineno - 1]
        if id(node) in top:
            fixes[node.lineno] = line[: node.col_offset] + "# " + line[node.col_offset:] + "  (not needed in a step)"
        elif set(node.names) <= run_locals and line[node.col_offset: node.col_offset + 6] == "global":
            fixes[node.lineno] = line[: node.col_offset] + "nonlocal" + line[node.col_offset + 6:]
    return fixes

"""Which names a piece of code defines and which free names it uses.

A conservative, module-level analysis: names bound at the top level of the code
(assignments, imports, defs, classes, for/with targets, walrus) are *defined*; names
read before any binding in the code, including inside function bodies that refer to
globals, are *used*. Builtins are not reported as used.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "In", "Out", "get_ipython", "display"}


@dataclass
class CellNames:
    defined: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.defined: set[str] = set()
        self.used: set[str] = set()
        self._scopes: list[set[str]] = []  # local names of enclosing functions/classes

    # bindings -----------------------------------------------------------------
    def _bind(self, name: str) -> None:
        if self._scopes:
            self._scopes[-1].add(name)
        else:
            self.defined.add(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._bind(node.id)
        elif not any(node.id in s for s in self._scopes) and node.id not in self.defined:
            self.used.add(node.id)

    def visit_Import(self, node) -> None:
        for alias in node.names:
            self._bind((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import

    def _visit_function(self, node) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        args = node.args
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            self.visit(default)
        self._bind(node.name)
        local = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        # Names assigned anywhere in the body are local to it.
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                local.add(sub.id)
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Global, ast.Nonlocal)):
                local -= set(sub.names)
        self._scopes.append(local)
        body = node.body if isinstance(node.body, list) else [node.body]
        for stmt in body:
            self.visit(stmt)
        self._scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        args = node.args
        local = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        local |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        for d in args.defaults:
            self.visit(d)
        self._scopes.append(local)
        self.visit(node.body)
        self._scopes.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *[k.value for k in node.keywords]]:
            self.visit(expr)
        self._bind(node.name)
        self._scopes.append(set())
        for stmt in node.body:
            self.visit(stmt)
        self._scopes.pop()

    def _visit_comprehension(self, node) -> None:
        local: set[str] = set()
        for gen in node.generators:
            for sub in ast.walk(gen.target):
                if isinstance(sub, ast.Name):
                    local.add(sub.id)
        first = True
        for gen in node.generators:
            if first:  # the first iterable is evaluated in the enclosing scope
                self.visit(gen.iter)
                first = False
                self._scopes.append(local)
            else:
                self.visit(gen.iter)
            for cond in gen.ifs:
                self.visit(cond)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                self.visit(getattr(node, part))
        self._scopes.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _visit_comprehension

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and not self._scopes and node.target.id not in self.defined:
            self.used.add(node.target.id)  # x += 1 reads x first
        self.visit(node.value)
        self.visit(node.target)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)  # the value is read before the targets are bound
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.defined.add(node.target.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for stmt in node.body:
            self.visit(stmt)


def analyse(code: str | ast.AST) -> CellNames:
    """Names defined and used by ``code``; raises ``SyntaxError`` for invalid code."""
    tree = ast.parse(code) if isinstance(code, str) else code
    v = _Visitor()
    v.visit(tree)
    return CellNames(defined=v.defined, used=v.used - _BUILTINS)

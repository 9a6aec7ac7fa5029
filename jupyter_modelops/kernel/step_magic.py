"""``%%step NAME [--after A B]``: this cell starts pipeline step NAME.

The same as tagging the cell ``block:NAME`` (and ``prev:A prev:B``), for people who would
rather write it than open the tag editor. In the kernel the cell runs as usual (its last
expression is its value); ``jupyter modelops export`` reads the line to cut the notebook
into steps. The magic warns when ``--after`` names a step that has not run in this kernel
yet, since the pipeline would then order the steps differently from how you ran them.

Registered by ``%load_ext jupyter_modelops``, or on its own with
``%load_ext jupyter_modelops.kernel.step_magic``.
"""

from __future__ import annotations

import ast
import re
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


@magics_class
class StepMagics(Magics):
    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self.steps_run: list[str] = []

    @magic_arguments()
    @argument("name", help="Step name (letters, digits, _ or -).")
    @argument("--after", nargs="+", default=[], metavar="STEP", help="Steps this one runs after.")
    @cell_magic
    def step(self, line: str, cell: str):
        """Run the cell as the start of pipeline step NAME (see `jupyter modelops export`)."""
        __tracebackhide__ = True
        from .magics import parse_argstring

        args = parse_argstring(self.step, line)
        for name in [args.name, *args.after]:
            if not _NAME.fullmatch(name):
                raise UsageError(f"step name {name!r} must be letters, digits, _ or - (and not start with a digit)")
        if args.name in args.after:
            raise UsageError(f"step {args.name} cannot run after itself")
        missing = [a for a in args.after if a not in self.steps_run]
        if missing:
            print(f"⚠ step {args.name} runs after {', '.join(missing)}, which "
                  f"{'has' if len(missing) == 1 else 'have'} not run in this kernel yet", file=sys.stderr)
        result = self._execute(cell)
        if args.name not in self.steps_run:
            self.steps_run.append(args.name)
        return result

    def _execute(self, cell: str):
        """Execute like a normal cell: magics inside work, the last expression is the value."""
        __tracebackhide__ = True
        shell = self.shell
        code = shell.transform_cell(cell)
        filename = shell.compile.cache(code, shell.execution_count, raw_code=cell)
        tree = shell.transform_ast(shell.compile.ast_parse(code, filename=filename))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        ns = shell.user_ns
        exec(shell.compile(tree, filename, "exec"), ns)
        if last is not None:
            return eval(shell.compile(last, filename, "eval"), ns)
        return None


def register_step_magic(ip) -> None:
    ip.register_magics(StepMagics(shell=ip))


load_ipython_extension = register_step_magic

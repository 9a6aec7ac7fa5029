"""``PipelineClientMixin``: the pipeline methods of ``Client``.

Thin calls of the pipeline service operations through ``self._call``, so they behave
the same in-process and over HTTP (where the paths are the server's). They also work
unbound on any object with ``_call``: ``PipelineClientMixin.export_notebook(client, ...)``.
"""

from __future__ import annotations

import os


class PipelineClientMixin:
    def export_notebook(self, notebook: str | os.PathLike, target: str = "python",
                        output: str | os.PathLike | None = None, *, check: bool = False,
                        params: dict | None = None, content: dict | None = None):
        """Export a notebook to a pipeline (python, local, kfp or airflow); ``check`` runs
        the notebook and the pipeline and compares them. Returns an ``ExportReport``."""
        return self._call("export_notebook", notebook=os.fspath(notebook), target=target,
                          output=os.fspath(output) if output is not None else None, check=check,
                          params=params, content=content)

    def run_pipeline(self, package: str | os.PathLike, params: dict | None = None):
        """Run an exported pipeline package with the local runner; returns a ``PipelineRun``."""
        return self._call("run_pipeline", package=os.fspath(package), params=params)

    def plan_pipeline(self, notebook: str | os.PathLike | None = None, content: dict | None = None) -> dict:
        """A notebook's steps and graph, without writing anything."""
        return self._call("plan_pipeline", notebook=os.fspath(notebook) if notebook is not None else None,
                          content=content)

"""Notebook-to-pipeline export that reproduces the notebook.

``notebook`` finds the steps (Kale-style tags, ``%%step`` cells or Markdown headings),
``dataflow`` works out what each step reads and writes, ``codegen`` writes a Python
package (one module per step), ``runner`` runs it locally (parallel, cached, tracked),
``kfp`` and ``airflow`` write Kubeflow Pipelines v2 and Airflow definitions, ``parity``
runs the notebook and the pipeline and compares them. ``export.export_notebook`` is the
entry point behind ``jupyter modelops export``, ``%modelops export`` and the
``export_notebook`` service operation. Nothing heavy is imported until it is used.
"""

from __future__ import annotations


def export_notebook(notebook=None, **kwargs):
    """See ``jupyter_modelops.pipeline.export.export_notebook``."""
    from .export import export_notebook as _export

    return _export(notebook, **kwargs)


def run_pipeline(package, params=None, **kwargs):
    """See ``jupyter_modelops.pipeline.runner.run_pipeline``."""
    from .runner import run_pipeline as _run

    return _run(package, params, **kwargs)


def check_parity(package, **kwargs):
    """See ``jupyter_modelops.pipeline.parity.check_parity``."""
    from .parity import check_parity as _check

    return _check(package, **kwargs)

"""Helpers for the pipeline tests: notebooks written from a list of cells."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def code(source: str, *tags: str, id: str | None = None):
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    if id:
        cell.id = id
    return cell


def md(source: str, id: str | None = None):
    cell = new_markdown_cell(source)
    if id:
        cell.id = id
    return cell


def write_nb(path: Path, cells) -> Path:
    nb = new_notebook(cells=list(cells), metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    nbformat.write(nb, path)
    return path


@pytest.fixture
def nb_file(tmp_path):
    def make(cells, name: str = "nb.ipynb") -> Path:
        return write_nb(tmp_path / name, cells)
    return make


# Test modules import these helpers as `pipeline_helpers` (the root conftest owns `conftest`).
import sys as _sys

_sys.modules["pipeline_helpers"] = _sys.modules[__name__]

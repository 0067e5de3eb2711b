"""Every benchmark's plot notebook runs headless on a tiny results folder, writes its figures, and
writes the same bytes as ``python -m common.report`` run from elsewhere."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from common import report
from tests.test_analysis import write_fake_runs

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(REPO_ROOT.glob("*/plot_results.ipynb"))


def test_every_benchmark_folder_has_a_notebook():
    assert {p.parent.name for p in NOTEBOOKS} >= {"wall-robot", "wall-robot-completely-labeled", "cifar-10h", "music-genre"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def _execute(path: Path, results: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("AL_RELABEL_RESULTS_DIR", str(results))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def _written(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_runs_and_writes_what_the_command_writes(path, tmp_path, monkeypatch):
    results = tmp_path / "results"
    write_fake_runs(results)
    notebook = _execute(path, results, monkeypatch)  # runs in the notebook's folder
    figures = sorted(p.name for p in (results / "report").glob("*.png"))
    assert figures == ["critical_difference.png", "mlp_budget.png", "mlp_learning_curves.png",
                       "mlp_learning_curves_cost.png", "mlp_learning_curves_vs_random.png"]
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == len(figures)
    # the same results give the same bytes from the command, run from another folder (issue 17)
    from_notebook = _written(results / "report")
    monkeypatch.chdir(tmp_path)
    assert report.main(["results"]) == 0
    assert _written(results / "report") == from_notebook


def test_notebook_without_results_says_so(tmp_path, monkeypatch):
    notebook = _execute(REPO_ROOT / "cifar-10h" / "plot_results.ipynb", tmp_path / "results", monkeypatch)
    text = str([cell.outputs for cell in notebook.cells if cell.cell_type == "code"])
    assert "No finished runs" in text and "error" not in text

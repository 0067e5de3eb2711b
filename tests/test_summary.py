"""The table printed at the end of a run."""

from __future__ import annotations

from types import SimpleNamespace

from common.results import RunKey
from common.summary import format_summary, summarize
from tests.test_analysis import N_INITIAL, ROUNDS, write_fake_runs


def test_the_end_of_run_table_shows_labeled_examples_beside_consensus_accuracy(tmp_path):
    write_fake_runs(tmp_path, {"random": 0.0, "activelab": 0.1})  # runs without pool label accuracy
    specs = [SimpleNamespace(method=SimpleNamespace(name=m), key=RunKey("mlp", m, s))
             for m in ("random", "activelab", "margin") for s in (0, 1, 2)]
    rows = {row["method"]: row for row in summarize(tmp_path, specs)}
    assert rows["activelab"]["final_labeled"] == (N_INITIAL + 2 * (ROUNDS - 1), 0.0)
    assert rows["random"]["final_labeled"][0] == N_INITIAL + 4 * (ROUNDS - 1)
    text = format_summary(list(rows.values()))
    activelab = next(line for line in text.splitlines() if line.startswith("activelab"))
    assert "not recorded" in activelab and f"{N_INITIAL + 2 * (ROUNDS - 1)} ± 0" in activelab
    assert "final pool label acc" in text and "(no finished runs)" in text  # margin

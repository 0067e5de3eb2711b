from __future__ import annotations

import numpy as np
from matplotlib.colors import to_hex

from common import analysis, plots, stats
from common.methods import METHODS
from tests.test_analysis import ROUNDS, write_fake_runs


def test_every_registered_method_has_its_own_fixed_colour():
    colours = [plots.method_color(name) for name in METHODS]
    assert len(set(colours)) == len(colours)
    assert plots.method_color("activelab") == plots.method_color("activelab")


def test_unknown_methods_get_a_deterministic_colour():
    colour = plots.method_color("my_plugin_method")
    assert colour == plots.method_color("my_plugin_method")
    assert colour not in {plots.method_color(name) for name in METHODS}


def _group(tmp_path):
    write_fake_runs(tmp_path)
    write_fake_runs(tmp_path, {"margin": 0.01}, seeds=(0,))  # one seed only: no band, marked
    (group,) = analysis.load_results(tmp_path)
    return group


def test_learning_curves_one_line_per_method_in_its_colour(tmp_path):
    group = _group(tmp_path)
    figure = plots.plot_learning_curves(group)
    axes = [ax for ax in figure.axes if ax.get_ylabel()]
    assert len(axes) == 2
    for ax in axes:
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"random", "entropy", "margin (1/3 seeds)", "activelab"}
        assert to_hex(lines["activelab"].get_color()) == plots.method_color("activelab")
        np.testing.assert_array_equal(lines["random"].get_xdata(), np.arange(ROUNDS))
        assert len(ax.collections) == 3  # bands for the methods with more than one seed
        (top,) = ax.child_axes  # labels collected so far, linear in the round
        assert "labels collected" in top.get_xlabel()
    figure.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_learning_curve_band_is_the_t_interval(tmp_path):
    group = _group(tmp_path)
    ax = next(ax for ax in plots.plot_learning_curves(group, ["model_accuracy"]).axes if ax.get_ylabel())
    band = ax.collections[0].get_paths()[0].vertices  # random's band
    _, low, high = stats.t_interval(group.methods["random"].model_accuracy)
    assert np.isclose(band[:, 1].min(), low.min()) and np.isclose(band[:, 1].max(), high.max())


def test_budget_figure_shares_sum_to_one(tmp_path):
    group = _group(tmp_path)
    figure = plots.plot_budget(group, max_bin=3)
    left, right = figure.axes[:2]
    assert len([line for line in left.get_lines() if line.get_label() in group.methods]) == 3
    widths = np.array([patch.get_width() for patch in right.patches]).reshape(4, len(group.methods))
    np.testing.assert_allclose(widths.sum(axis=0), 1.0)
    # activelab relabels: the share of examples without labels, computed by hand
    final = group.methods["activelab"].final_labels_per_example
    activelab = list(group.methods).index("activelab")
    assert widths[0, activelab] == np.mean(final == 0)


def test_critical_difference_diagram_draws_one_bar_per_clique(tmp_path):
    names = ["random", "entropy", "activelab", "margin"]
    ranks = np.array([2.5, 3.6, 1.0, 2.9])
    figure = plots.plot_critical_difference(names, ranks, 1.0, "title")
    ax = figure.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "activelab (1.00)" in texts and "CD = 1.00" in texts
    thick = [c for c in ax.collections if c.get_linewidth()[0] == 3.5]
    assert len(thick) == len(stats.cliques(ranks, 1.0)) == 2


def test_learning_curves_relative_to_random_plot_paired_differences(tmp_path):
    group = _group(tmp_path)
    ax = next(ax for ax in plots.plot_learning_curves(group, ["consensus_accuracy"], relative_to="random").axes
              if ax.get_ylabel())
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["activelab"].get_ydata(), 0.1)  # activelab is 0.1 above on every seed
    np.testing.assert_allclose(lines["entropy"].get_ydata(), -0.02)
    np.testing.assert_allclose(lines["random"].get_ydata(), 0.0)
    assert "minus random" in ax.get_ylabel()


def test_every_axis_names_what_it_measures(tmp_path):
    write_fake_runs(tmp_path, pool_offsets={"random": 0.0, "entropy": 0.05, "activelab": -0.03})
    (group,) = analysis.load_results(tmp_path)
    labels = [ax.get_ylabel() for ax in plots.plot_learning_curves(group).axes if ax.get_ylabel()]
    assert len(labels) == 3
    pool, consensus, model = labels
    assert "whole pool" in pool and "consensus where labeled, model elsewhere" in pool
    assert "labeled examples only" in consensus and "pool" not in consensus
    assert "test set" in model


def test_curves_of_runs_older_than_pool_label_accuracy_leave_its_panel_out(tmp_path):
    group = _group(tmp_path)
    labels = [ax.get_ylabel() for ax in plots.plot_learning_curves(group).axes if ax.get_ylabel()]
    assert len(labels) == 2 and not any("whole pool" in label for label in labels)


def test_learning_curves_against_the_label_cost_spent(tmp_path):
    write_fake_runs(tmp_path, pool_offsets={"random": 0.0, "entropy": 0.05, "activelab": -0.03})
    (group,) = analysis.load_results(tmp_path)
    figure = plots.plot_learning_curves(group, ["pool_label_accuracy"], against="cost")
    ax = next(ax for ax in figure.axes if ax.get_ylabel())
    assert "label cost spent" in ax.get_xlabel() and not ax.child_axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["activelab"].get_xdata(), group.methods["activelab"].cost_spent.mean(axis=0))
    np.testing.assert_array_equal(lines["activelab"].get_xdata(), 5 * np.arange(ROUNDS))  # 5 labels, 1 each, a round
    np.testing.assert_allclose(lines["entropy"].get_ydata(), group.methods["entropy"].pool_label_accuracy.mean(axis=0))

"""Figures of a group of runs: learning curves, how the label budget was spent, and a
critical-difference diagram. Each function returns a :class:`matplotlib.figure.Figure` built
without pyplot (no global state, any backend); save it with ``fig.savefig(path)``.

Every method has one colour in every figure and benchmark: registered methods by their place in
the registry, others by a hash of their name.
"""

from __future__ import annotations

import zlib
from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from common import stats
from common.analysis import Group
from common.methods import METHODS

_PALETTE = (
    "#7f7f7f",  # random: grey, the baseline
    "#8c564b", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#e377c2",
    "#d62728",  # activelab
    "#6b0f1a", "#bcbd22", "#17becf",
)
_EXTRA = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#386cb0", "#f0027f", "#666666")

METRIC_LABELS = {
    "pool_label_accuracy": "pool label accuracy: whole pool\n(consensus where labeled, model elsewhere)",
    "consensus_accuracy": "consensus-label accuracy\n(labeled examples only)",
    "correct_labels": "correct consensus labels\n(labeled examples)",
    "model_accuracy": "model accuracy (test set)",
}
"""What each per-round metric measures, as its axis says."""

CURVE_METRICS = ("pool_label_accuracy", "consensus_accuracy", "model_accuracy")
"""The learning curves drawn by default (those the runs record)."""

COST_AXIS = "label cost spent, initial labels not counted\n(mean over seeds; 1 per label unless priced)"
INTERVAL = "mean over seeds, band: 95% t interval"


def method_color(name: str) -> str:
    """The fixed colour of a method (same in every figure)."""
    registered = list(METHODS)
    if name in registered and registered.index(name) < len(_PALETTE):
        return _PALETTE[registered.index(name)]
    return _EXTRA[zlib.crc32(name.encode()) % len(_EXTRA)]


def _label(group: Group, name: str) -> str:
    """A method's legend entry; marked when it has fewer seeds than the group."""
    n = len(group.methods[name].seeds)
    total = len(group.all_seeds)
    return name if n == total else f"{name} ({n}/{total} seeds)"


def _rounds_to_labels_axis(ax, group: Group) -> None:
    """A secondary x axis on top: labels collected so far, linear in the round (a fixed number
    of labels per round; the start is the mean over runs)."""
    n_labels = np.mean(np.concatenate([r.n_labels for r in group.methods.values()]), axis=0)
    if len(n_labels) < 2:
        return
    slope, start = np.polyfit(np.arange(len(n_labels)), n_labels, 1)
    top = ax.secondary_xaxis("top", functions=(lambda x: start + slope * x, lambda y: (y - start) / slope))
    top.set_xlabel("labels collected so far")


def _y_limits(ax, means: list[np.ndarray], lows: list[np.ndarray], highs: list[np.ndarray], bounds: tuple) -> None:
    """Fit the axis to the mean curves and the bands, but let very wide bands (2-3 seeds give
    huge t intervals) run off the axis rather than squash the curves."""
    m_low, m_high = min(np.min(m) for m in means), max(np.max(m) for m in means)
    span = max(m_high - m_low, 0.02)
    lows, highs = np.concatenate(lows), np.concatenate(highs)
    band_low = lows[np.isfinite(lows)].min(initial=m_low)
    band_high = highs[np.isfinite(highs)].max(initial=m_high)
    low = max(min(band_low, m_low), m_low - span, bounds[0])
    high = min(max(band_high, m_high), m_high + span, bounds[1])
    ax.set_ylim(low - 0.03 * span, high + 0.03 * span)


def recorded_metrics(group: Group, metrics: Sequence[str] = CURVE_METRICS) -> list[str]:
    """The ``metrics`` that some run of ``group`` records (runs older than a metric lack it)."""
    return [m for m in metrics if any(np.isfinite(getattr(r, m)).any() for r in group.methods.values())]


def plot_learning_curves(
    group: Group,
    metrics: Optional[Sequence[str]] = None,
    relative_to: Optional[str] = None,
    against: str = "round",
) -> Figure:
    """One panel per metric (default: those of :data:`CURVE_METRICS` the runs record): mean over
    seeds per method with a 95% t confidence band, against the round (bottom axis) and the labels
    collected so far (top axis), or with ``against="cost"`` against the label cost spent.

    With ``relative_to`` (a method, e.g. ``"random"``) each curve is the per-seed difference to
    that method, averaged over the seeds both have: seeds share their starting state, so the
    paired band is much narrower than the spread of the absolute curves across seeds. Seeds that
    do not record a metric are left out of its curve.
    """
    if relative_to is not None and relative_to not in group.methods:
        raise ValueError(f"relative_to={relative_to!r} has no runs; found: {', '.join(group.methods)}")
    if against not in ("round", "cost"):
        raise ValueError(f"against={against!r}; choose 'round' or 'cost'")
    if against == "cost" and relative_to is not None:
        raise ValueError("curves against cost are absolute: leave relative_to out")
    metrics = recorded_metrics(group) if metrics is None else list(metrics)
    fig = Figure(figsize=(6.2 * len(metrics), 4.8), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        means, lows, highs = [], [], []
        for name in group.methods:
            if name == relative_to:
                ax.axhline(0, color=method_color(name), lw=1.8, label=_label(group, name))
                continue
            curves = group.curves(metric, name, relative_to)
            recorded = np.isfinite(curves).all(axis=1)
            curves = curves[recorded]
            if not len(curves):
                continue
            mean, low, high = stats.t_interval(curves)
            x = np.arange(len(mean)) if against == "round" else group.methods[name].cost_spent[recorded].mean(axis=0)
            color = method_color(name)
            ax.plot(x, mean, color=color, label=_label(group, name), lw=1.8)
            if len(curves) > 1:
                ax.fill_between(x, low, high, color=color, alpha=0.12 if len(group.methods) <= 5 else 0.07, lw=0)
            means.append(mean), lows.append(low), highs.append(high)
        if means:
            bounds = (-1.0, 1.0) if relative_to else (0.0, 1.0) if metric.endswith("accuracy") else (0.0, np.inf)
            _y_limits(ax, means, lows, highs, bounds)
        label = METRIC_LABELS.get(metric, metric)
        ax.set_ylabel(f"{label}\nminus {relative_to}'s (same seed)" if relative_to else label)
        ax.grid(alpha=0.3)
        if against == "round":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("round (metrics measured before the round's labels)")
            _rounds_to_labels_axis(ax, group)
        else:
            ax.set_xlabel(COST_AXIS)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", frameon=False)
    what = f"difference to {relative_to}, paired by seed; " if relative_to else ""
    what += "against label cost; " if against == "cost" else ""
    fig.suptitle(f"{group.title}: {what}{INTERVAL}", fontsize="medium")
    return fig


def plot_budget(group: Group, max_bin: int = 5) -> Figure:
    """How each method spent its labels: previously unlabeled examples labeled per round (left),
    and the share of pool examples by number of labels at the last measurement (right)."""
    fig = Figure(figsize=(13, 1.6 + max(3.6, 0.42 * len(group.methods))), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.1))
    batch = group.config.get("batch_size")
    for name, runs in group.methods.items():
        mean = runs.num_new_examples.mean(axis=0)
        left.plot(np.arange(len(mean)), mean, color=method_color(name), label=_label(group, name), lw=1.8)
    if batch:
        left.axhline(batch, color="black", lw=0.8, ls=":", label=f"batch size ({batch})")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_xlabel("round")
    left.set_ylabel("new examples labeled in the round (mean over seeds)")
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    left.legend(fontsize="small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3)
    left.set_title("new data vs relabeling: the rest of each batch went to relabeling", fontsize="medium")

    names = list(group.methods)
    bins = np.arange(max_bin + 1)
    shares = np.array([
        np.mean(np.minimum(group.methods[n].final_labels_per_example, max_bin)[..., None] == bins, axis=(0, 1))
        for n in names
    ])  # (methods, bins): share of pool examples with 0, 1, ..., >= max_bin labels
    colors = [_sequential(i / max_bin) for i in bins]
    start = np.zeros(len(names))
    y = np.arange(len(names))
    for b in bins:
        label = f"{b}" if b < max_bin else f"{max_bin}+"
        right.barh(y, shares[:, b], left=start, color=colors[b], label=label, edgecolor="white", lw=0.5)
        start += shares[:, b]
    right.set_yticks(y, [_label(group, n) for n in names])
    for tick, name in zip(right.get_yticklabels(), names):
        tick.set_color(method_color(name))
    right.invert_yaxis()
    right.set_xlim(0, 1)
    right.set_xlabel("share of pool examples")
    right.legend(title="labels per example", ncols=max_bin + 1, loc="lower center", bbox_to_anchor=(0.5, 1.0),
                 fontsize="small", frameon=False)
    fig.suptitle(f"{group.title}: label budget", fontsize="medium")
    return fig


def _sequential(x: float) -> tuple:
    from matplotlib import colormaps

    return colormaps["viridis"](0.08 + 0.85 * x)


def plot_critical_difference(names: Sequence[str], ranks: np.ndarray, cd: float, title: str = "") -> Figure:
    """Critical-difference diagram (Demšar 2006): average ranks on an axis (1 = best), with
    thick bars joining methods whose ranks differ by less than the Nemenyi ``cd``."""
    ranks = np.asarray(ranks, dtype=float)
    k = len(names)
    order = np.argsort(ranks, kind="stable")
    groups = stats.cliques(ranks, cd)
    half = (k + 1) // 2
    rows = max(half, k - half)
    fig = Figure(figsize=(9, 1.3 + 0.3 * rows + 0.22 * len(groups)), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    low, high = 1, max(k, 2)
    ax.set_xlim(low - 0.45 * (high - low) - 0.5, high + 0.45 * (high - low) + 0.5)
    bar_space = 0.25 * len(groups)
    ax.set_ylim(0.3 + bar_space + 0.35 * rows, -0.9)

    ax.hlines(0, low, high, color="black", lw=1)
    for tick in range(low, high + 1):
        ax.vlines(tick, -0.08, 0, color="black", lw=1)
        ax.text(tick, -0.14, str(tick), ha="center", va="bottom", fontsize="small")
    if np.isfinite(cd):
        ax.hlines(-0.6, low, low + cd, color="black", lw=1.5)
        ax.vlines([low, low + cd], -0.65, -0.55, color="black", lw=1.5)
        ax.text(low + cd / 2, -0.68, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize="small")

    for i, bar in enumerate(groups):
        y = 0.2 + 0.25 * i
        ax.hlines(y, ranks[list(bar)].min() - 0.03, ranks[list(bar)].max() + 0.03, color="black", lw=3.5)

    for position, index in enumerate(order):
        on_left = position < half
        row = position if on_left else k - 1 - position
        y = 0.45 + bar_space + 0.35 * row
        x_end = low - 0.25 if on_left else high + 0.25
        ax.plot([ranks[index], ranks[index], x_end], [0, y, y], color=method_color(names[index]), lw=1)
        ax.text(x_end + (-0.05 if on_left else 0.05), y, f"{names[index]} ({ranks[index]:.2f})",
                ha="right" if on_left else "left", va="center", fontsize="small", color=method_color(names[index]))
    if title:
        ax.set_title(title, fontsize="medium")
    return fig


def plot_assigners(table, title: str) -> Figure:
    """Methods crossed with assigners (rows of :func:`common.analysis.assigner_table` for one
    table): final consensus and model accuracy (mean, bar: std over seeds) and the mean accuracy of
    the labels bought, one bar per assigner."""
    assigners = list(dict.fromkeys(table["assigner"]))
    methods = list(dict.fromkeys(table["method"]))
    panels = (("final_consensus_accuracy", "final consensus accuracy\n(labeled examples)"),
              ("final_model_accuracy", "final model accuracy (test set)"),
              ("new_label_accuracy", "accuracy of the labels bought"))
    if "final_pool_label_accuracy_mean" in table and table["final_pool_label_accuracy_mean"].notna().any():
        panels = (("final_pool_label_accuracy", "final pool label accuracy\n(whole pool)"), *panels)
    fig = Figure(figsize=(4.2 * len(panels) + 1.5, 1.2 + 0.45 * len(methods) * len(assigners) / 2 + 2), layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True)
    height = 0.8 / len(assigners)
    for ax, (column, label) in zip(axes, panels):
        for i, assigner in enumerate(assigners):
            rows = table[table["assigner"] == assigner].set_index("method").reindex(methods)
            y = np.arange(len(methods)) + i * height
            std = rows.get(f"{column}_std")
            ax.barh(y, rows[f"{column}_mean"], height=height, xerr=None if std is None else std,
                    color=_PALETTE[i % len(_PALETTE)], label=assigner, error_kw={"lw": 0.8})
        ax.set_xlabel(label)
        lows = table[f"{column}_mean"].min()
        ax.set_xlim(max(0.0, lows - 0.1), 1.0)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(methods)) + 0.4 - height / 2, methods)
    axes[0].invert_yaxis()
    axes[-1].legend(title="assigner", loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small", frameon=False)
    fig.suptitle(f"{title}: who labels (mean over seeds, bar: std)", fontsize="medium")
    return fig

"""Figures of the Performance page, drawn from ``python -m fastconv bench --json`` files.

The page's ``.. plot::`` blocks call these functions while the documentation
is built, so the figures, and every number on them, come from the JSON files
in ``docs/_data/`` (``bench_1t.json``: ``--threads 1``, ``bench_2t.json``:
``--threads 2``). Regenerating those files and rebuilding the documentation
updates the page; nothing else needs editing.

The JSON format is the one written by :mod:`fastconv._bench`: a
``"metadata"`` dict describing the machine and the run, and a ``"records"``
list with one dict per (layer, implementation): ``layer``, ``impl``
(``"fastconv/auto"``, ``"torch"``, ``"cv2"``, ...), ``library``,
``algorithm``, ``dtype``, ``time_min_s``, ``gflops``, ``status``, ...
"""
import json
import math
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "_data"
#: The runs the page shows, in order: file name and label.
RUNS = (("bench_1t.json", "1 thread"), ("bench_2t.json", "2 threads"))

#: The peers, in the order they are drawn, with their labels.
PEERS = (("torch", "PyTorch"), ("scipy.ndimage", "scipy.ndimage"),
         ("scipy.signal", "scipy.signal"), ("cv2", "OpenCV"),
         ("scipy.oaconvolve", "SciPy oaconvolve"), ("scipy.fftconvolve", "SciPy fftconvolve"),
         ("np.convolve", "NumPy"))
PEER_LABELS = dict(PEERS)
COLORS = {"fastconv/auto": "#1f77b4", "torch": "#d62728", "scipy.ndimage": "#2ca02c",
          "scipy.signal": "#98df8a", "cv2": "#9467bd", "scipy.oaconvolve": "#17becf",
          "scipy.fftconvolve": "#bcbd22", "np.convolve": "#7f7f7f"}


def load_run(name, data_dir=DATA_DIR):
    """Return the parsed JSON file ``name`` of ``data_dir``, or None if it is missing."""
    path = Path(data_dir) / name
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_runs(data_dir=DATA_DIR):
    """``[(label, run), ...]`` for the runs of :data:`RUNS` that exist."""
    runs = []
    for name, label in RUNS:
        run = load_run(name, data_dir)
        if run is not None:
            runs.append((label, run))
    return runs


def layer_names(run):
    """The layers of a run, in the order they ran."""
    names = []
    for record in run["records"]:
        if record["layer"] not in names:
            names.append(record["layer"])
    return names


def layer_label(run, layer):
    """A short label: the layer's name, with its dtype when not float32."""
    for record in run["records"]:
        if record["layer"] == layer:
            if record.get("dtype", "float32") != "float32" and not layer.endswith("_f64"):
                return f"{layer} ({record['dtype']})"
            return layer
    return layer


def timed(run, layer, impl):
    """The record of ``impl`` on ``layer`` if it has a time, else None."""
    for record in run["records"]:
        if (record["layer"] == layer and record["impl"] == impl
                and record.get("time_min_s") is not None
                and record.get("status") not in ("ERROR", "FAIL")):
            return record
    return None


def best_peer(run, layer):
    """The fastest non-fastconv record of ``layer`` (None when no peer ran)."""
    peers = [r for r in run["records"]
             if r["layer"] == layer and r["library"] != "fastconv"
             and r.get("time_min_s") is not None]
    return min(peers, key=lambda r: r["time_min_s"]) if peers else None


def machine_line(run):
    """One line naming the machine and the libraries of a run."""
    meta = run["metadata"]
    parts = [f"{meta.get('cpu', 'unknown CPU')}, {meta.get('usable_cores', '?')} usable cores"]
    isa = f" ({meta['isa']})" if meta.get("isa") else ""
    parts.append(f"fastconv {meta.get('fastconv_version', '?')}{isa}")
    for key, label in (("torch_version", "PyTorch"), ("scipy_version", "SciPy"),
                       ("cv2_version", "OpenCV"), ("numpy_version", "NumPy")):
        if meta.get(key):
            parts.append(f"{label} {meta[key]}")
    date = str(meta.get("date_utc", ""))[:10]
    if date:
        parts.append(date)
    return ", ".join(parts)


def _wrapped(text, width=110):
    import textwrap
    return "\n".join(textwrap.wrap(text, width))


def _log_ratio_axis(ax, lo, hi):
    """A log x axis from ``lo`` to ``hi`` with plain tick labels (0.5, 1, 2...)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())


def _no_data(ax):
    ax.text(0.5, 0.5, "no benchmark results in docs/_data/", ha="center", va="center")
    ax.set_axis_off()


def plot_ratios(data_dir=DATA_DIR):
    """Horizontal bars: fastconv ``auto``'s time over the fastest peer's, per layer.

    One bar per run (1 and 2 threads); below 1, fastconv is faster. The
    fastest peer of each layer is named at the end of its bars.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    runs = load_runs(data_dir)
    if not runs:
        fig, ax = plt.subplots(figsize=(8, 2))
        _no_data(ax)
        return fig
    layers = layer_names(runs[0][1])
    height = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(layers) * len(runs) + 1.6),
                           layout="constrained")
    y = np.arange(len(layers))
    ratios, all_values = [], []
    for i, (label, run) in enumerate(runs):
        values, peers = [], []
        for layer in layers:
            own, peer = timed(run, layer, "fastconv/auto"), best_peer(run, layer)
            if own is None or peer is None:
                values.append(math.nan)
                peers.append("fastconv: n/a" if peer is not None else "no other library")
            else:
                values.append(own["time_min_s"] / peer["time_min_s"])
                peers.append(PEER_LABELS.get(peer["impl"], peer["impl"]))
        ratios.extend(v for v in values if math.isfinite(v))
        all_values.append((values, peers))
        pos = y + (i - (len(runs) - 1) / 2) * height
        ax.barh(pos, [v if math.isfinite(v) else math.nan for v in values], height,
                label=label, color=("#1f77b4", "#ff7f0e", "#2ca02c")[i % 3])
    lo = min(ratios + [0.5]) / 1.5
    hi = max(ratios + [2.0]) * 2.5
    for i, (values, peers) in enumerate(all_values):
        pos = y + (i - (len(runs) - 1) / 2) * height
        for p, value, peer in zip(pos, values, peers):
            finite = math.isfinite(value)
            text = f"{value:.2f} vs {peer}" if finite else peer
            ax.text(value * 1.03 if finite else lo * 1.05, p, text, va="center", fontsize=7)
    _log_ratio_axis(ax, lo, hi)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(y, [layer_label(runs[0][1], layer) for layer in layers], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("fastconv 'auto' time / fastest other library's time  (< 1: fastconv faster)")
    ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(_wrapped(machine_line(runs[0][1])), fontsize=8)
    return fig


def plot_gflops(data_dir=DATA_DIR):
    """GFLOP/s per layer of fastconv ``auto`` and of each peer: one panel per run.

    GFLOP/s count 2 floating-point operations per multiply-accumulate of the
    direct definition, for every implementation alike (so an algorithm that
    does fewer multiplications can exceed the machine's peak).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    runs = load_runs(data_dir)
    if not runs:
        fig, ax = plt.subplots(figsize=(8, 2))
        _no_data(ax)
        return fig
    layers = layer_names(runs[0][1])
    impls = ["fastconv/auto"] + [p for p, _ in PEERS
                                 if any(r["impl"] == p for _, run in runs
                                        for r in run["records"])]
    markers = {"fastconv/auto": "o", "torch": "s", "scipy.ndimage": "^",
               "scipy.signal": "v", "cv2": "D", "scipy.oaconvolve": "<",
               "scipy.fftconvolve": ">", "np.convolve": "x"}
    fig, axes = plt.subplots(1, len(runs), figsize=(4.5 * len(runs) + 2, 0.32 * len(layers) + 1.8),
                             sharey=True, squeeze=False, layout="constrained")
    y = np.arange(len(layers))
    for ax, (label, run) in zip(axes[0], runs):
        for impl in impls:
            xs, ys = [], []
            for i, layer in enumerate(layers):
                record = timed(run, layer, impl)
                if record is not None and record.get("gflops"):
                    xs.append(record["gflops"])
                    ys.append(i)
            ax.scatter(xs, ys, marker=markers.get(impl, "o"), s=36 if impl.startswith("fastconv") else 26,
                       color=COLORS.get(impl), zorder=3,
                       label="fastconv 'auto'" if impl == "fastconv/auto"
                       else PEER_LABELS.get(impl, impl))
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("GFLOP/s (higher is better)", fontsize=8)
        ax.grid(axis="both", linewidth=0.3)
        ax.tick_params(axis="x", labelsize=8)
    axes[0][0].set_yticks(y, [layer_label(runs[0][1], layer) for layer in layers], fontsize=8)
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(loc="best", fontsize=7)
    fig.suptitle(_wrapped(machine_line(runs[0][1])), fontsize=8)
    return fig


def plot_algorithms(data_dir=DATA_DIR):
    """fastconv's algorithms side by side: each one's time over ``auto``'s, per layer.

    Shows what ``algorithm="auto"`` gains over always using one algorithm;
    one panel per run.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    runs = load_runs(data_dir)
    if not runs:
        fig, ax = plt.subplots(figsize=(8, 2))
        _no_data(ax)
        return fig
    layers = layer_names(runs[0][1])
    algorithms = [a for a in runs[0][1]["metadata"].get("algorithms", []) if a != "auto"]
    fig, axes = plt.subplots(1, len(runs), figsize=(4.5 * len(runs) + 2, 0.32 * len(layers) + 1.8),
                             sharey=True, squeeze=False, layout="constrained")
    width = 0.8 / max(1, len(algorithms))
    y = np.arange(len(layers))
    for ax, (label, run) in zip(axes[0], runs):
        for j, algorithm in enumerate(algorithms):
            values = []
            for layer in layers:
                own = timed(run, layer, f"fastconv/{algorithm}")
                auto = timed(run, layer, "fastconv/auto")
                values.append(own["time_min_s"] / auto["time_min_s"]
                              if own is not None and auto is not None else math.nan)
            pos = y + (j - (len(algorithms) - 1) / 2) * width
            ax.barh(pos, values, width, label=algorithm)
        widths = [bar.get_width() for bar in ax.patches]
        finite = [v for v in widths if math.isfinite(v) and v > 0]
        _log_ratio_axis(ax, min(finite + [0.5]) / 1.3, max(finite + [2.0]) * 1.3)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("time / time of 'auto'  (1: auto chose it)")
    axes[0][0].set_yticks(y, [layer_label(runs[0][1], layer) for layer in layers], fontsize=8)
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(loc="lower right", fontsize=7)
    fig.suptitle(_wrapped(machine_line(runs[0][1])), fontsize=8)
    return fig


def run_summary(data_dir=DATA_DIR):
    """Lines describing each run (machine, threads, load, repeats), for a figure or a test."""
    lines = []
    for label, run in load_runs(data_dir):
        meta = run["metadata"]
        load = meta.get("load_average")
        load_end = meta.get("load_average_end")
        lines.append(
            f"{label}: {machine_line(run)}; {meta.get('repeat', '?')} timings per row"
            + (f", system load {load} at the start and {load_end} at the end"
               if load is not None else ""))
    return lines


#: The network-suite runs (``python -m fastconv bench --suite networks``).
NETWORK_RUNS = (("networks_1t.json", "1 thread"), ("networks_2t.json", "2 threads"))


def load_network_runs(data_dir=DATA_DIR):
    """``[(label, run), ...]`` for the runs of :data:`NETWORK_RUNS` that exist."""
    runs = []
    for name, label in NETWORK_RUNS:
        run = load_run(name, data_dir)
        if run is not None and run["metadata"].get("networks"):
            runs.append((label, run))
    return runs


def plot_network_totals(data_dir=DATA_DIR):
    """Horizontal bars: per network, fastconv ``auto``'s total time over PyTorch's.

    The total is the sum over the network's convolution layers of count x
    best time; one bar per run (1 and 2 threads).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    runs = load_network_runs(data_dir)
    if not runs:
        fig, ax = plt.subplots(figsize=(8, 2))
        _no_data(ax)
        return fig
    names = list(runs[0][1]["metadata"]["networks"])
    height = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(names) * len(runs) + 1.6),
                           layout="constrained")
    y = np.arange(len(names))
    values_all = []
    for i, (label, run) in enumerate(runs):
        nets = run["metadata"]["networks"]
        values = [nets.get(n, {}).get("ratio_auto") or math.nan for n in names]
        values_all += [v for v in values if math.isfinite(v)]
        pos = y + (i - (len(runs) - 1) / 2) * height
        ax.barh(pos, values, height, label=label, color=("#1f77b4", "#ff7f0e")[i % 2])
        for p, v in zip(pos, values):
            if math.isfinite(v):
                ax.text(v * 1.02, p, f"{v:.2f}", va="center", fontsize=7)
    _log_ratio_axis(ax, min(values_all + [0.5]) / 1.3, max(values_all + [2.0]) * 1.5)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("fastconv 'auto' total / PyTorch total  (< 1: fastconv faster)")
    ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(_wrapped(machine_line(runs[0][1])), fontsize=8)
    return fig


def worst_network_layers(run, count=15):
    """The ``count`` distinct layers with the highest ``auto`` / PyTorch ratio:
    ``[(ratio, network, layer), ...]``, worst first (a layer of several
    networks once)."""
    own, peer = {}, {}
    for r in run["records"]:
        if r.get("time_min_s") is None:
            continue
        key = (r.get("network"), r["layer"])
        if r["impl"] == "fastconv/auto":
            own[key] = r["time_min_s"]
        elif r["impl"] == "torch":
            peer[key] = r["time_min_s"]
    seen, rows = set(), []
    for key in sorted(own, key=lambda k: -(own[k] / peer[k]) if k in peer else 0):
        if key in peer and key[1] not in seen:
            seen.add(key[1])
            rows.append((own[key] / peer[key], key[0], key[1]))
    return rows[:count]


def plot_worst_network_layers(data_dir=DATA_DIR, count=15):
    """The layers of the network suites furthest behind PyTorch, per run."""
    import matplotlib.pyplot as plt

    runs = load_network_runs(data_dir)
    if not runs:
        fig, ax = plt.subplots(figsize=(8, 2))
        _no_data(ax)
        return fig
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 0.3 * count + 1.6),
                             layout="constrained", squeeze=False)
    for ax, (label, run) in zip(axes[0], runs):
        rows = worst_network_layers(run, count)
        ax.barh(range(len(rows)), [r for r, _, _ in rows], color="#d62728")
        ax.set_yticks(range(len(rows)), [f"{lay} ({net})" for _, net, lay in rows], fontsize=7)
        for i, (r, _, _) in enumerate(rows):
            ax.text(r * 1.02, i, f"{r:.2f}", va="center", fontsize=7)
        ax.axvline(1.0, color="black", linewidth=0.8)
        _log_ratio_axis(ax, min([r for r, _, _ in rows] + [0.5]) / 1.3,
                        max([r for r, _, _ in rows] + [2.0]) * 1.5)
        ax.invert_yaxis()
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("fastconv 'auto' / PyTorch")
    fig.suptitle(_wrapped(machine_line(runs[0][1])), fontsize=8)
    return fig

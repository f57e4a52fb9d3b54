#!/usr/bin/python3
"""Plots build/bench/compare's JSON: one panel per metric, a bar per row,
grouped by transport, ustack and Linux in two colours, each bar labelled
with its figure.

usage: bench/plot_compare.py compare.json compare.png   (or .svg)
(Debian's /usr/bin/python3, where python3-matplotlib installs.)
Needs python3-matplotlib (Debian; ci/install-deps installs it).
"""
import json
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SHORT = {
    "ustack-memlink": "ustack memlink\none thread",
    "ustack-memlink-2t": "ustack memlink\na thread each",
    "ustack-afp-v2": "ustack\naf_packet V2",
    "ustack-afp-v3": "ustack\naf_packet V3",
    "ustack-dpdk-afp": "ustack dpdk\nnet_af_packet",
    "ustack-dpdk-pcap": "ustack dpdk\nnet_pcap",
    "ustack-uring-tap": "ustack\nuring_tap",
    "linux-veth": "Linux\noffloads off",
    "linux-veth-offload": "Linux\noffloads on",
    "linux-lo": "Linux\nloopback",
}
TRANSPORT_ORDER = ["memlink", "veth", "TAP", "loopback"]
COLOURS = {"ustack": "#e8710a", "kernel": "#1a73e8"}


def ordered_rows(rows):
    """Rows grouped by transport (in TRANSPORT_ORDER), ustack before Linux."""
    key = lambda r: (TRANSPORT_ORDER.index(r["transport"]) if r["transport"] in TRANSPORT_ORDER
                     else 99, r["kind"] != "ustack")
    return sorted(rows, key=key)


def label(v, unit):
    if v >= 100000:
        return f"{v / 1000:.0f}k"
    if v >= 10000:
        return f"{v / 1000:.1f}k"
    if unit == "Gbit/s":
        return f"{v:.2f}"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        data = json.load(f)
    rows = ordered_rows(data["rows"])
    metrics = data["metrics"]
    # x positions: a gap between transports
    xs, x, prev = [], 0.0, None
    for r in rows:
        if prev is not None and r["transport"] != prev:
            x += 0.6
        xs.append(x)
        x += 1.0
        prev = r["transport"]

    cols = 4
    nrows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 4.4 * nrows))
    axes = axes.flatten()
    for ax, m in zip(axes, metrics):
        vals = [r["figures"].get(m["key"]) for r in rows]
        good = [v for v in vals if v is not None and v > 0]
        log = bool(good) and max(good) / min(good) > 30
        heights = [v if v is not None else 0 for v in vals]
        bars = ax.bar(xs, heights, width=0.8, zorder=2,
                      color=[COLOURS.get(r["kind"], "grey") for r in rows])
        for b, v in zip(bars, vals):
            text = "failed" if v is None else label(v, m["unit"])
            ax.annotate(text, (b.get_x() + b.get_width() / 2, max(b.get_height(), 1e-9)),
                        ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                        textcoords="offset points")
        if log:
            ax.set_yscale("log")
        better = "higher is better" if m["higher_is_better"] else "lower is better"
        ax.set_title(f"{m['title']} ({better})", fontsize=10, pad=14)
        ax.set_ylabel(m["unit"] + (" (log scale)" if log else ""))
        ax.set_xticks(xs)
        ax.set_xticklabels([SHORT.get(r["key"], r["label"]) for r in rows], rotation=60,
                           ha="right", fontsize=7)
        # Each transport's group shaded and named at the top.
        for i, t in enumerate(dict.fromkeys(r["transport"] for r in rows)):
            gx = [x for x, r in zip(xs, rows) if r["transport"] == t]
            if i % 2 == 0:
                ax.axvspan(min(gx) - 0.5, max(gx) + 0.5, color="#f1f3f4", zorder=0)
            ax.text((min(gx) + max(gx)) / 2, 1.01, t, transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=7, color="#5f6368")
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.15)
    for ax in axes[len(metrics):]:
        ax.axis("off")
    # The legend and the run's facts in the spare panel (or below).
    spare = axes[len(metrics)] if len(metrics) < len(axes) else axes[-1]
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOURS[k]) for k in ("ustack", "kernel")]
    spare.legend(handles, ["ustack", "Linux kernel"], loc="upper left", fontsize=10)
    ref = next((r["label"] for r in data["rows"] if r["key"] == data["reference"]), "")
    facts = (f"{data['machine']}\n{data['rounds']} rounds interleaved, "
             f"{data['seconds_per_measurement']} s per measurement\n"
             f"load {data['load']}\nratios in the table: against\n{ref}\n"
             "veth, TAP: 1500-byte frames")
    spare.text(0, 0.6, facts, fontsize=7, va="top", wrap=True)
    fig.suptitle("ustack vs the Linux kernel: TCP over memlink, veth, TAP and loopback",
                 fontsize=13)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)


if __name__ == "__main__":
    main()

"""Turn raw benchmark results into figures: per-transform and overall recall at precision
>= 99.9 % and >= 99.99 %, figures at each method's fixed operating point, false matches against the
astronomical stratum, hashing cost and bytes per registered image; as JSON and as Markdown."""

from __future__ import annotations

import platform
from dataclasses import asdict

import numpy as np

from stopframe.bench.methods import METHODS
from stopframe.bench.metrics import Counts, OperatingPoint, at_threshold, recall_at_precision
from stopframe.signals import PDQ, PDQ_ROBUST

PRECISIONS = (0.999, 0.9999)
FIXED_THRESHOLDS = {
    "pdqhash": PDQ.default_threshold,
    "pdq": PDQ.default_threshold,
    "robust": PDQ_ROBUST.default_threshold,
}


def combined(natural: Counts, astro: Counts) -> Counts:
    """Counts with false matches against both natural and astronomical negatives."""
    return Counts(
        natural.true_matches,
        natural.false_matches + astro.false_matches,
        natural.queries,
        natural.negative_pairs + astro.negative_pairs,
    )


def _point(p: OperatingPoint) -> dict:
    return asdict(p)


def summarise(result: dict) -> dict:
    """A JSON-ready dict of every figure the report shows."""
    transforms = result["transforms"]
    registered = result["registered"]
    out: dict = {
        "transforms": {},
        "families": {},
        "overall": {},
        "methods": {},
        "corpus": {
            "natural_files": len(registered.natural_paths),
            "astro_files": len(registered.astro_paths),
            "natural_kept": int(len(registered.kept_natural)),
            "astro_kept": int(len(registered.kept_astro)),
            "natural_duplicates_dropped": registered.duplicates_natural,
            "astro_duplicates_dropped": registered.duplicates_astro,
            "unreadable": registered.unreadable,
        },
    }
    config = result["config"]
    out["config"] = {
        "seed": config.seed,
        "per_transform": config.per_transform,
        "max_side": config.max_side,
        "workers": config.workers,
        "transforms": len(transforms),
    }
    out["machine"] = (
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    out["seconds"] = round(result["seconds"], 1)
    for m in METHODS:
        scores = result["scores"][m.name]
        total: Counts | None = None
        astro_total: Counts | None = None
        families: dict[str, Counts] = {}
        for t in transforms:
            counts = combined(scores.natural[t.name], scores.astro[t.name])
            total = counts if total is None else total + counts
            astro_only = scores.astro[t.name]
            astro_total = astro_only if astro_total is None else astro_total + astro_only
            families[t.family] = counts if t.family not in families else families[t.family] + counts
            row = out["transforms"].setdefault(
                t.name,
                {
                    "family": t.family,
                    "params": {
                        k: (v if isinstance(v, (int, float, str)) else str(v))
                        for k, v in t.params.items()
                    },
                },
            )
            row[m.name] = {f"p{p}": _point(recall_at_precision(counts, p)) for p in PRECISIONS}
            if m.name in FIXED_THRESHOLDS:
                row[m.name]["fixed"] = _point(at_threshold(counts, FIXED_THRESHOLDS[m.name]))
        assert total is not None and astro_total is not None
        for family, counts in families.items():
            out["families"].setdefault(family, {})[m.name] = {
                f"p{p}": _point(recall_at_precision(counts, p)) for p in PRECISIONS
            }
            if m.name in FIXED_THRESHOLDS:
                out["families"][family][m.name]["fixed"] = _point(
                    at_threshold(counts, FIXED_THRESHOLDS[m.name])
                )
        entry: dict[str, object] = {
            f"p{p}": _point(recall_at_precision(total, p)) for p in PRECISIONS
        }
        if m.name in FIXED_THRESHOLDS:
            t = FIXED_THRESHOLDS[m.name]
            entry["fixed"] = _point(at_threshold(total, t))
            entry["fixed_astro_false_matches"] = int(astro_total.false_matches[t])
        entry["negative_pairs"] = total.negative_pairs
        entry["astro_negative_pairs"] = astro_total.negative_pairs
        entry["queries"] = total.queries
        entry["curve"] = {
            "recall": total.recall().round(5).tolist(),
            "false_match_rate": (total.false_matches / max(total.negative_pairs, 1)).tolist(),
        }
        out["overall"][m.name] = entry
        out["methods"][m.name] = _cost(result, m)
    return out


def _cost(result: dict, method) -> dict:
    registered = result["registered"]
    sets = [registered.natural, registered.astro]
    images = sum(s.count for s in sets)
    rows = sum(int(s.usable[method.name].sum()) for s in sets)
    reg_seconds = sum(s.seconds[method.name] for s in sets)
    q_seconds = sum(q.seconds[method.name] for _i, q in result["queries"].values())
    q_count = sum(q.count for _i, q in result["queries"].values())
    q_rows = sum(int(q.usable[method.name].sum()) for _i, q in result["queries"].values())
    return {
        "label": method.label,
        "bits": method.bits,
        "gated": method.gated,
        "register_ms": round(1000 * reg_seconds / max(images, 1), 2),
        "query_ms": round(1000 * q_seconds / max(q_count, 1), 2),
        "hashes_per_registered_image": round(rows / max(images, 1), 2),
        "hashes_per_query": round(q_rows / max(q_count, 1), 2),
        "bytes_per_registered_image": round(rows / max(images, 1) * method.bits / 8, 1),
    }


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def markdown(summary: dict) -> str:
    """The report as Markdown tables (overall, cost, per family, per transform)."""
    names = [m.name for m in METHODS]
    labels = {m.name: m.label for m in METHODS}
    lines = [
        "### Overall (all transforms pooled; negatives: every other natural photo and every "
        "astronomical photo)",
        "",
        "| method | recall @ P>=99.9 % (t) | recall @ P>=99.99 % (t) | fixed threshold: recall, "
        "false matches (astro) | register ms/img | query ms/img | hashes/img | bytes/img |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in names:
        o, c = summary["overall"][n], summary["methods"][n]
        fixed = (
            f"t={o['fixed']['threshold']}: {_pct(o['fixed']['recall'])} %, "
            f"{o['fixed']['false_matches']} ({o['fixed_astro_false_matches']})"
            if "fixed" in o
            else "-"
        )
        lines.append(
            f"| {labels[n]} | {_pct(o['p0.999']['recall'])} ({o['p0.999']['threshold']}) "
            f"| {_pct(o['p0.9999']['recall'])} ({o['p0.9999']['threshold']}) | {fixed} | "
            f"{c['register_ms']} | {c['query_ms']} | {c['hashes_per_registered_image']} | "
            f"{c['bytes_per_registered_image']} |"
        )
    fixed = f"robust @ t={FIXED_THRESHOLDS['robust']}"
    lines += [
        "",
        "### Recall (%) at precision >= 99.99 %, by family (last column: robust matching "
        "at its fixed operating point)",
        "",
        "| family | " + " | ".join(names) + f" | {fixed} |",
        "|---" * (len(names) + 2) + "|",
    ]
    for family, row in summary["families"].items():
        lines.append(
            f"| {family} | "
            + " | ".join(_pct(row[n]["p0.9999"]["recall"]) for n in names)
            + f" | {_pct(row['robust']['fixed']['recall'])} |"
        )
    lines += [
        "",
        "### Recall (%) at precision >= 99.99 % (and >= 99.9 %), by transform",
        "",
        "| transform | " + " | ".join(names) + f" | {fixed} |",
        "|---" * (len(names) + 2) + "|",
    ]
    for name, row in summary["transforms"].items():
        cells = [
            f"{_pct(row[n]['p0.9999']['recall'])} ({_pct(row[n]['p0.999']['recall'])})"
            for n in names
        ]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {_pct(row['robust']['fixed']['recall'])} |"
        )
    return "\n".join(lines) + "\n"


def plot(summary: dict, path) -> None:
    """ROC-style plot: overall recall against false-match rate per (query, image) pair."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for m in METHODS:
        curve = summary["overall"][m.name]["curve"]
        fpr = np.maximum(np.array(curve["false_match_rate"]), 1e-9)
        ax.plot(fpr, curve["recall"], label=m.label, marker=".", markersize=3)
    ax.set_xscale("log")
    ax.set_xlim(1e-9, 1)
    ax.set_xlabel("false-match rate per (query, unrelated image) pair (1e-9 = none)")
    ax.set_ylabel("recall (all transforms pooled)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_families(summary: dict, path) -> None:
    """Bar chart: recall at precision >= 99.99 % per transform family and method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(summary["families"])
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    width = 0.8 / len(METHODS)
    for k, m in enumerate(METHODS):
        values = [100 * summary["families"][f][m.name]["p0.9999"]["recall"] for f in families]
        ax.bar(np.arange(len(families)) + k * width, values, width, label=m.label)
    ax.set_xticks(np.arange(len(families)) + 0.4 - width / 2, families, rotation=30, ha="right")
    ax.set_ylabel("recall % at precision >= 99.99 %")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

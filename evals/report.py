"""The eval report: metrics.json's numbers as Markdown tables and an HTML page with plots (matplotlib)."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

MAIN_TABLE = ("hr@10", "ndcg@10", "mrr@10")
DETAIL = ("hr@5", "hr@20", "ndcg@20", "precision@10", "diversity@10", "violation_rate@10", "attribute_f1",
          "list_length")


def _cell(summary: dict[str, float] | None) -> str:
    if not summary or summary.get("mean") is None or math.isnan(summary["mean"]):
        return "-"
    return f"{summary['mean']:.3f} [{summary['ci_low']:.3f}, {summary['ci_high']:.3f}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def main_table(doc: dict[str, Any]) -> list[str]:
    """Every method on every dataset: HR, NDCG and MRR at 10, mean [95% bootstrap interval]."""
    rows = []
    for dataset, methods in doc["metrics"].items():
        n = doc["datasets"][dataset]["cases"]
        for method, values in methods.items():
            rows.append([f"{dataset} ({n})", method, *(_cell(values.get(m)) for m in MAIN_TABLE)])
    return _table(["dataset (cases)", "method", *MAIN_TABLE], rows)


def markdown(doc: dict[str, Any]) -> str:
    revision = doc["revision"]
    lines = [f"# Eval suite `{doc['suite']}`", "",
             f"Revision {revision['commit'][:12]}{' (uncommitted changes)' if revision['dirty'] else ''}, "
             f"{doc['seconds']:.0f} s.", "", "Backends: " + "; ".join(f"{k}: {v}" for k, v in doc["backends"].items())
             + ".", "",
             "## Ranking (mean [95% bootstrap interval])", "", *main_table(doc), ""]
    lines += [f"Skipped {name}: {why}" for name, why in doc.get("skipped_datasets", {}).items()] + [""]
    lines += ["## More metrics", ""]
    rows = [[dataset, method, *(_cell(v.get(m)) for m in DETAIL)]
            for dataset, methods in doc["metrics"].items() for method, v in methods.items()]
    lines += _table(["dataset", "method", *DETAIL], rows) + [""]
    lines += ["Catalog coverage (distinct products in the top 10 over all cases / catalog size):", ""]
    lines += _table(["dataset", *next(iter(doc["coverage"].values()), {}).keys()],
                    [[d, *(f"{v:.3f}" for v in c.values())] for d, c in doc["coverage"].items()]) + [""]
    ablations = doc["ablations"]
    for title, key, label in (("Data volume (share of the unique screenshots read)", "data_volume", "share"),
                              ("Input modality", "modality", "input")):
        rows = [[dataset, variant, *(_cell(v[m]) for m in MAIN_TABLE)]
                for dataset, variants in ablations[key].items() for variant, v in variants.items()]
        if rows:
            lines += [f"## {title}", "", *_table(["dataset", label, *MAIN_TABLE], rows), ""]
    rows = [[dataset, bucket, method, _cell(v)] for dataset, buckets in ablations["session_length"].items()
            for bucket, methods in buckets.items() for method, v in methods.items()]
    if rows:
        lines += ["## Session length (HR@10 by session length in items)", "",
                  *_table(["dataset", "length", "method", "hr@10"], rows), ""]
    lines += ["## Latency per stage (seconds)", "",
              *_table(["stage", "p50", "p95", "n"], [[s, f"{v['p50']:.3f}", f"{v['p95']:.3f}", str(v["n"])]
                                                     for s, v in doc["latency"].items()]), ""]
    t = doc["trajectories"]["summary"]
    lines += ["## Chat trajectories", "", f"Chat model: {doc['trajectories']['chat_model']}. {t['scenarios']} "
              f"scenarios, {t['turns']} turns: strict match {t['strict_match']:.2f}, unordered match "
              f"{t['unordered_match']:.2f}, constraints held {t['constraints_held']:.2f}, answers as expected "
              f"{t['answers_ok']:.2f}.", ""]
    lines += ["## Thresholds", "", *_table(["metric", "bound", "value", "result"], [
        [r["key"], (f"<= {-r['minimum']}" if r["minimum"] < 0 else f">= {r['minimum']}"),
         "-" if r["value"] is None else f"{r['value']:.3f}",
         "skipped" if r.get("skipped") else "pass" if r["pass"] else "FAIL"] for r in doc["thresholds"]]), ""]
    return "\n".join(lines)


def _plot_main(doc: dict[str, Any]) -> str:
    """HR@10 per method per dataset with interval whiskers, as a PNG data URL."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(doc["metrics"])
    methods = sorted({m for d in datasets for m in doc["metrics"][d]})
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(datasets) * len(methods) / 3), 3.6), dpi=110)
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        xs, means, errors = [], [], [[], []]
        for j, dataset in enumerate(datasets):
            summary = doc["metrics"][dataset].get(method, {}).get("hr@10")
            if summary:
                xs.append(j + i * width)
                means.append(summary["mean"])
                errors[0].append(summary["mean"] - summary["ci_low"])
                errors[1].append(summary["ci_high"] - summary["mean"])
        ax.bar(xs, means, width, yerr=errors, capsize=2, label=method)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(datasets))], datasets)
    ax.set_ylabel("HR@10")
    ax.set_ylim(0, 1)
    if methods:
        ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def html_page(doc: dict[str, Any], markdown_text: str) -> str:
    """A self-contained page: the plot, then the Markdown tables rendered as HTML tables."""
    body, table = [], []

    def flush() -> None:
        if table:
            cells = [[c.strip() for c in row.strip("|").split("|")] for row in table if not row.startswith("|---")]
            head, *rest = cells
            body.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
                        + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rest)
                        + "</table>")
            table.clear()

    for line in markdown_text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
            if line.startswith("## Ranking"):
                body.append(f'<img alt="HR@10 per method and dataset" src="{_plot_main(doc)}">')
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    flush()
    style = ("body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>InteraRec eval {html.escape(doc['suite'])}"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>")


def write_reports(doc: dict[str, Any], out: Path) -> dict[str, Path]:
    text = markdown(doc)
    paths = {"markdown": out / "report.md", "html": out / "report.html"}
    paths["markdown"].write_text(text + "\n", encoding="utf-8")
    paths["html"].write_text(html_page(doc, text), encoding="utf-8")
    return paths


LCREC_TABLE = ("hr@10", "ndcg@10", "mrr@10", "hr@20", "ndcg@20", "mrr@20")


def lcrec_table(doc: dict[str, Any]) -> list[str]:
    """One row per method on the real-shopper experiment: mean [95% bootstrap interval]."""
    return _table(["method", *LCREC_TABLE], [[m, *(_cell(v.get(k)) for k in LCREC_TABLE)]
                                             for m, v in doc["metrics"].items()])


def _diff(d: dict[str, Any]) -> str:
    return f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]{' *' if d['significant'] else ''}"


def lcrec_markdown(doc: dict[str, Any]) -> str:
    revision, data, protocol = doc["revision"], doc["dataset"], doc["protocol"]
    lines = [f"# Real shoppers: {data['name']} (`{doc['suite']}`)", "",
             f"Revision {revision['commit'][:12]}{' (uncommitted changes)' if revision['dirty'] else ''}, "
             f"{doc['seconds']:.0f} s. Dataset {data['folder']} (sha256 {data['sha256'][:12]}): {data['users']} "
             f"users, {data['items']['items']} items. Split {protocol['split']}, {protocol['users_sampled']} users "
             f"(seed {protocol['seed']}), {protocol['train_sequences']} training sequences, full ranking with the "
             f"history excluded; InteraRec browses the last {protocol['pages']} history pages.", "",
             "## Ranking (mean [95% bootstrap interval])", "", *lcrec_table(doc), "",
             f"## Paired bootstrap against the best trained baseline ({doc['best_trained_baseline']})", "",
             "Difference on the same users, mean [95% interval]; * marks an interval that excludes 0.", ""]
    lines += _table(["comparison", *PAIRED_COLUMNS], [[name, *(_diff(d[m]) for m in PAIRED_COLUMNS)]
                                                      for name, d in doc["paired"].items()]) + [""]
    lines += ["## Thresholds", "", doc.get("thresholds_note") or
              "The sample's 95% upper bound must reach the bound (the full run's lower bound).", "",
              *_table(["metric", "bound", "mean", "upper bound", "result"], [
                  [r["key"], f">= {r['minimum']}", "-" if r["value"] is None else f"{r['value']:.3f}",
                   "-" if r.get("upper") is None else f"{r['upper']:.3f}", "pass" if r["pass"] else "FAIL"]
                  for r in doc["thresholds"]]), ""]
    return "\n".join(lines)


PAIRED_COLUMNS = ("hr@10", "ndcg@10", "mrr@10")

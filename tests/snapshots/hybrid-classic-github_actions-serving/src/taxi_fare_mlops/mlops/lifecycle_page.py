"""The lifecycle's report as one HTML page: open `.local/reports/lifecycle.html` in a browser.

Self-contained (the monitoring plots are embedded as base64 PNG, no scripts, no links), so it can
be attached to a ticket or mailed as it is. It shows what `LifecycleReport.summary()` prints, and
more: every version and alias per catalog, the duration of each step, the rows scored, labelled
and the error and drift per batch, and the plots `monitor` drew.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config, contract

if TYPE_CHECKING:
    from .lifecycle import LifecycleReport

FILE_NAME = "lifecycle.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.alert { color: #b00; font-weight: bold; }
figure { display: inline-block; margin: 0 1em 1em 0; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


def _cell(value: object) -> str:
    if isinstance(value, float):
        text = "n/a" if math.isnan(value) else f"{value:.3f}"
        return f'<td class="number">{text}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="number">{value}</td>'
    if isinstance(value, bool):
        value = str(value).lower()
    return f"<td>{html.escape(str(value))}</td>"


def _table(table_id: str, header: list[str], rows: Iterable[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _catalog_rows(report: LifecycleReport) -> list[list[object]]:
    return [
        [
            catalog,
            state["model"],
            ", ".join(state["versions"]),
            state[config.CHAMPION] or "-",
            state[config.CHALLENGER] or "-",
            float(state["metric"]),
            state["source"] or "trained here",
        ]
        for catalog, state in report.catalogs.items()
    ]


def _batch_rows(report: LifecycleReport) -> list[list[object]]:
    rows = []
    for batch in report.batches:
        checked = "retrain" in batch
        rows.append(
            [
                batch["batch_id"],
                int(batch["rows"]),
                batch["model_version"],
                int(batch["labelled_rows"]) if checked else "-",
                float(batch["metric"]) if checked else "-",
                float(batch["max_psi"]) if checked else "-",
                batch["retrain"] if checked else "-",
                "; ".join(batch.get("violations", [])) or "-",
            ]
        )
    return rows


def _image(path: Path) -> str:
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name)
    return (
        f'<figure><img alt="{name}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{name}</figcaption></figure>"
    )


def plot_paths(report: LifecycleReport) -> list[Path]:
    """The monitoring plots of the run, each once, in the order they were drawn."""
    seen: dict[str, None] = {}
    for batch in report.batches:
        for plot in batch.get("plots", []):
            seen.setdefault(plot, None)
    return [Path(plot) for plot in seen if Path(plot).is_file()]


def render(report: LifecycleReport) -> str:
    title = f"{config.PROJECT_NAME}: {report.pattern} lifecycle"
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Ran in {report.seconds:.1f}s; written {made}.</p>",
        "<h2>Models per catalog</h2>",
        f"<p><code>{config.CHAMPION}</code> is what batch inference uses; "
        f"<code>{config.CHALLENGER}</code> passed validation. {contract.GATE.metric}: the gate's "
        "hold-out metric, measured by validation in that catalog.</p>",
        _table(
            "catalogs",
            [
                "catalog",
                "model",
                "versions",
                config.CHAMPION,
                config.CHALLENGER,
                contract.GATE.metric,
                "source",
            ],
            _catalog_rows(report),
        ),
        "<h2>Scored batches</h2>",
        _table(
            "batches",
            [
                "batch",
                "rows scored",
                "model version",
                "labelled rows",
                contract.GATE.metric,
                "max psi",
                "retrain",
                "violations",
            ],
            _batch_rows(report),
        ),
    ]
    plots = plot_paths(report)
    parts.append("<h2>Drift and error</h2>")
    if plots:
        parts.append(f'<section id="plots">{"".join(_image(path) for path in plots)}</section>')
    else:
        parts.append("<p>No monitoring in this run: no drift or error plots.</p>")
    parts += [
        "<h2>Steps</h2>",
        _table(
            "steps",
            ["step", "seconds"],
            [[step, float(seconds)] for step, seconds in report.durations.items()],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write(report: LifecycleReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path

"""The lifecycle's report as one HTML page: open `.local/reports/lifecycle.html` in a browser.

Self-contained (the monitoring plots are embedded as base64 PNG, no scripts, no links), so it can
be attached to a ticket or mailed as it is. It shows what `LifecycleReport.summary()` prints, and
more: every version and alias per catalog, the duration of each step, the rows scored, labelled
and the error and drift per batch (numeric features as `monitor`'s chart, categorical ones as a
table), and the serving check where the project serves. Numbers read as the CLI prints them.
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
td { overflow-wrap: anywhere; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
td.number, td:first-child { white-space: nowrap; }
.alert { color: #b00; font-weight: bold; }
figure { display: inline-block; margin: 0 1em 1em 0; max-width: 100%; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


class Number(str):
    """Text already formatted as the CLI prints it, shown as a number (right-aligned)."""


def _cell(value: object) -> str:
    if isinstance(value, float):
        value = Number("n/a" if math.isnan(value) else f"{value:.3f}")
    elif isinstance(value, int) and not isinstance(value, bool):
        value = Number(f"{value:,}")
    elif isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, Number):
        return f'<td class="number">{html.escape(value)}</td>'
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


def retrains(pattern: str) -> bool:
    """Whether a violation starts training (monitoring_job's `retrain` task) in `pattern`."""
    return pattern in config.RETRAINING_PATTERNS


def _outcome_column(pattern: str) -> str:
    return "retrain" if retrains(pattern) else "monitoring job"


def _outcome(pattern: str, batch: dict) -> str:
    """What monitoring_job does with the batch's violations: retrain (true or false) where the
    pattern retrains; elsewhere the job fails and notifies, retraining happens upstream."""
    if retrains(pattern):
        return str(batch["retrain"]).lower()
    return "fails and notifies" if batch["retrain"] else "passes"


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
                _outcome(report.pattern, batch) if checked else "-",
                "; ".join(batch.get("violations", [])) or "-",
            ]
        )
    return rows


def _checked(report: LifecycleReport) -> list[dict]:
    """The batches monitoring checked (with monitoring off, none)."""
    return [batch for batch in report.batches if "retrain" in batch]


def _outcome_note(report: LifecycleReport) -> list[str]:
    if not _checked(report):
        return []
    pattern = html.escape(report.pattern)
    if retrains(report.pattern):
        return [
            "<p>On a violation <code>monitoring_job</code> starts <code>training_job</code>: "
            f"{pattern} trains in every environment.</p>"
        ]
    return [
        "<p>On a violation <code>monitoring_job</code> fails and notifies: in "
        f"{pattern} retraining happens upstream, not in prod.</p>"
    ]


def _image(path: Path, title: str) -> str:
    """An embedded PNG with its chart's title as its text (which names the batch)."""
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}"></figure>'
    )


def _batch_drift(batch: dict) -> str:
    """One checked batch: the chart of its numeric features, the table of its categorical ones."""
    from .reports import drift_title

    batch_id = batch["batch_id"]
    parts = [f"<h3>Batch {html.escape(batch_id)}</h3>"]
    if Path(batch["drift_plot"]).is_file():
        parts.append(_image(Path(batch["drift_plot"]), drift_title(batch_id)))
    categorical = batch["categorical_drift"]
    if categorical:
        parts.append(
            _table(
                f"categorical-drift-{html.escape(batch_id)}",
                ["categorical feature", "Jensen-Shannon distance"],
                ([feature, float(value)] for feature, value in categorical.items()),
            )
        )
    return f'<section class="batch">{"".join(parts)}</section>'


def _drift_section(report: LifecycleReport) -> list[str]:
    checked = _checked(report)
    if not checked:
        return ["<p>No monitoring in this run: no drift or error plots.</p>"]
    from .reports import ERROR_TITLE

    parts = [
        "<p>Each batch against the data its model trained on: the population stability index "
        f"of each numeric feature (a violation above max_psi {config.MAX_PSI:g}), and the "
        "Jensen-Shannon distance of each categorical feature (0 is the same distribution, 1 "
        "none in common), as the monitoring metrics table holds them.</p>",
        *(_batch_drift(batch) for batch in checked),
    ]
    # Every check redraws the one error trend over all batches so far: the last one is complete.
    error_plot = Path(checked[-1]["error_plot"])
    if error_plot.is_file():
        parts += [f"<h3>{ERROR_TITLE}</h3>", _image(error_plot, ERROR_TITLE)]
    return [f'<section id="drift">{"".join(parts)}</section>']


def _serving_section(report: LifecycleReport) -> list[str]:
    """The local serving check, where the project serves (lifecycle records it then only)."""
    if not report.serving:
        return []
    serving = report.serving
    return [
        "<h2>Serving</h2>",
        f'<p id="serving">Version {html.escape(str(serving["version"]))} (prod\'s '
        f"<code>{config.CHAMPION}</code>), served on this machine as <code>serve</code> does, "
        f"answered {int(serving['rows']):,} rows of batch {html.escape(serving['batch_id'])} "
        "over HTTP, equal to batch scoring.</p>",
    ]


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
                _outcome_column(report.pattern),
                "violations",
            ],
            _batch_rows(report),
        ),
        *_outcome_note(report),
        "<h2>Drift and error</h2>",
        *_drift_section(report),
        *_serving_section(report),
        "<h2>Steps</h2>",
        _table(
            "steps",
            ["step", "seconds"],
            [[step, Number(f"{seconds:.1f}")] for step, seconds in report.durations.items()],
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write(report: LifecycleReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path

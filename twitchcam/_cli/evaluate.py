"""`twitchcam eval`: score events against labelled truth, for one clip or a folder of labelled clips."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from twitchcam._cli.options import debug_option, model_option
from twitchcam.core.errors import UsageError

_TABLE_COLUMNS = ["clip", "n_truth", "n_pred", "true_positives", "false_positives", "false_negatives",
                  "precision", "recall", "f1", "side_accuracy", "median_onset_error_s", "false_positives_per_min"]


@click.command("eval")
@click.argument("truth", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("events", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of clips X.<video> each with X.truth.csv beside it (an empty truth: no spasm).")
@click.option("--duration-s", type=click.FloatRange(min=0, min_open=True),
              help="Length of the recording, for false positives per minute  [default: from summary.json "
                   "beside EVENTS]")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the scores as JSON to this file.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="With --dataset: keep each clip's analysis in OUT/<clip stem>/.")
@model_option
@debug_option
def evaluate(truth, events, dataset, duration_s, json_out, out, model, debug) -> None:
    """Score EVENTS (an events.csv) against TRUTH (start_s,end_s,side[,...]), or a whole --dataset.

    Events are matched one to one by temporal overlap. Prints precision, recall, F1, side accuracy of
    matched pairs, median onset error and false positives per minute.
    """
    from twitchcam.core import scoring as ev

    if dataset is not None:
        if truth or events:
            raise UsageError("give either TRUTH and EVENTS, or --dataset, not both")
        from twitchcam.run.evaluate import evaluate_dataset

        table, total, _ = evaluate_dataset(dataset, model=model, out=out, progress=sys.stderr.isatty())
        click.echo(table[_TABLE_COLUMNS].to_string(index=False, float_format="{:.3f}".format))
        click.echo(_describe(total, "all clips"))
        result = {"clips": table.to_dict(orient="records"), "total": total.as_dict()}
    else:
        if truth is None or events is None:
            raise UsageError("give TRUTH and EVENTS, or --dataset DIR")
        predicted = ev.read_truth(events)
        if duration_s is None:
            duration_s = _duration_beside(events)
        result_score = ev.score(ev.read_truth(truth), predicted, duration_s)
        click.echo(_describe(result_score, events.name))
        result = result_score.as_dict()
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, default=float) + "\n")


def _duration_beside(events: Path) -> float:
    summary = events.with_name("summary.json")
    if summary.is_file():
        return float(json.loads(summary.read_text())["duration_s"])
    raise UsageError(f"no summary.json beside {events}: give --duration-s")


def _describe(s, name: str) -> str:
    def pct(v):
        return "n/a" if v != v else f"{100 * v:.1f}%"

    onset = "n/a" if s.median_onset_error_s != s.median_onset_error_s else f"{1000 * s.median_onset_error_s:.0f} ms"
    return (f"{name}: {s.n_truth} true, {s.n_pred} detected; precision {pct(s.precision)}, recall {pct(s.recall)}, "
            f"F1 {pct(s.f1)}, side accuracy {pct(s.side_accuracy)}, median onset error {onset}, "
            f"{s.false_positives_per_min:.2f} false positives/min over {s.duration_s:.1f} s")

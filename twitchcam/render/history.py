"""The diary over weeks: a table of sessions and a plot of spasms per minute with the treatments marked.

Botulinum toxin starts to act after about 3 days and wears off over about 3 months, so the plot shades that
expected window after each Botox date: sessions creeping up towards its end suggest the effect is fading.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from twitchcam.core.errors import UsageError
from twitchcam.render.style import SIDE_COLOURS
from twitchcam.store.results import replace_file

BOTOX_ONSET = timedelta(days=3)
BOTOX_DURATION = timedelta(days=90)
TREATMENT_COLOURS = {"botox": "#009E73", "surgery": "#CC79A7", "medication": "#E69F00", "other": "#555555"}
HISTORY_COLUMNS = ("session", "date", "minutes", "spasms_per_min", "percent_time_in_spasm", "affected_side",
                   "protocol", "note")


def history_table(sessions: pd.DataFrame) -> pd.DataFrame:
    """The sessions as a patient and doctor read them (from `Diary.sessions()`), oldest first."""
    started = pd.to_datetime(sessions["started_at"].astype(str).str.slice(0, 19))  # local time as recorded
    return pd.DataFrame({
        "session": sessions["id"].astype("int64"),
        "date": started.dt.strftime("%Y-%m-%d %H:%M"),
        "minutes": (sessions["duration_s"] / 60).round(1),
        "spasms_per_min": sessions["events_per_min"].round(2),
        "percent_time_in_spasm": sessions["spasm_percent"].round(1),
        "affected_side": sessions["affected_side"],
        "protocol": sessions["protocol"].fillna(""),
        "note": sessions["note"].fillna(""),
    }, columns=list(HISTORY_COLUMNS))


def plot_history(sessions: pd.DataFrame, treatments: pd.DataFrame, *, fig: Figure | None = None) -> Figure:
    """Spasms per minute (top) and percent of the time in spasm (bottom) per session, over calendar days,
    with a line at each treatment and, after Botox, its expected window of effect shaded."""
    fig = fig or Figure(figsize=(10, 6.2), layout="constrained")
    rate_ax, time_ax = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    when = pd.to_datetime(sessions["started_at"].astype(str).str.slice(0, 19))
    sides = sessions["affected_side"].fillna("none")
    for ax, column, label in ((rate_ax, "events_per_min", "spasms per minute"),
                              (time_ax, "spasm_percent", "% of time in spasm")):
        ax.plot(when, sessions[column], color="#444444", linewidth=1, zorder=2)
        for side in ("left", "right", "both", "none"):
            chosen = sides == side
            if chosen.any():
                ax.scatter(when[chosen], sessions.loc[chosen, column], s=36, zorder=3,
                           color=SIDE_COLOURS.get(side, "#777777"), label=_side_label(side))
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0, top=max(1.0, float(sessions[column].max() or 0) * 1.25))
        ax.grid(axis="y", alpha=0.3)
        _treatments(ax, treatments, labels=ax is rate_ax)
    rate_ax.set_title("Hemifacial spasm diary: spasms per session", loc="left")
    handles, _ = rate_ax.get_legend_handles_labels()
    if (treatments["kind"] == "botox").any():
        handles.append(Patch(color=TREATMENT_COLOURS["botox"], alpha=0.15,
                             label="expected Botox effect (day 3 to ~3 months)"))
    rate_ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False,
                   ncols=len(handles))
    locator = AutoDateLocator()
    time_ax.xaxis.set_major_locator(locator)
    time_ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    first = min([when.min()] + [pd.Timestamp(d) for d in treatments["date"]])
    last = max([when.max()] + [pd.Timestamp(d) + timedelta(days=7) for d in treatments["date"]])
    time_ax.set_xlim(first - timedelta(days=2), last + timedelta(days=2))
    return fig


def _treatments(ax: Axes, treatments: pd.DataFrame, *, labels: bool) -> None:
    top = ax.get_ylim()[1]
    for row in treatments.itertuples():
        day = pd.Timestamp(row.date)
        colour = TREATMENT_COLOURS.get(row.kind, "#555555")
        ax.axvline(day, color=colour, linestyle="--", linewidth=1.2, zorder=1)
        if row.kind == "botox":
            ax.axvspan(day + BOTOX_ONSET, day + BOTOX_DURATION, color=colour, alpha=0.08, zorder=0)
        if labels:
            text = row.kind.capitalize() + (f" ({row.side})" if row.side else "")
            ax.text(day, top * 0.98, " " + text, color=colour, fontsize=8, va="top", ha="left", rotation=90)


def _side_label(side: str) -> str:
    return {"left": "mostly left side", "right": "mostly right side", "both": "both sides",
            "none": "no spasms"}[side]


def save_history_plot(sessions: pd.DataFrame, treatments: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the plot as a PNG (temporary name, then renamed)."""
    if sessions.empty:
        raise UsageError("the diary has no sessions yet: record one with `twitchcam live`")
    fig = plot_history(sessions, treatments)
    FigureCanvasAgg(fig)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=120)
    return replace_file(path, png.getvalue())

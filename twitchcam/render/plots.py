"""Timeline figures: each side's movement in eye, brow, cheek and mouth over time, with the spasms shaded.

Every function takes `ax=None` (or `fig=None`) and returns what it drew, so notebooks can reuse them; nothing
calls `plt.show()`. Figures are made with matplotlib's object API on the Agg canvas (no display needed).
Left and right keep the same colours everywhere (report, video): Okabe–Ito vermillion and blue, which stay
distinct with the common colour-vision deficiencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

from twitchcam.core.clinical import Movements
from twitchcam.core.detect import REGIONS, Event
from twitchcam.core.events import EventTable
from twitchcam.render.style import SIDE_COLOURS, SIDE_LABELS

REGION_TITLES = {"eye": "Eye", "brow": "Brow", "cheek": "Cheek", "mouth": "Mouth"}
REGION_UNITS = {
    "eye": "closed, % of\nopen eye",
    "brow": "lowered (+), % of\neye distance",
    "cheek": "raised, % of\neye distance",
    "mouth": "pulled, % of\neye distance",
}
# Page lengths for long clips: the shortest that keeps the number of pages at most MAX_PAGES.
PAGE_LENGTHS_S = (60.0, 120.0, 300.0, 600.0, 900.0, 1800.0)
MAX_PAGES = 12
MIN_SPAN_FRACTION = 0.002  # events are drawn at least this fraction of the page wide, so 1-frame jerks show
LABEL_GAP_FRACTION = 0.018  # event numbers closer than this fraction of the page are not all printed


@dataclass
class RegionPlot:
    """What `plot_region` drew: the axes, one line per side, and the shaded event spans."""

    ax: Axes
    lines: dict[str, object]
    spans: list = field(default_factory=list)


@dataclass
class TimelinePlot:
    """What `plot_timeline` drew: the figure and one `RegionPlot` per row (eye, brow, cheek, mouth)."""

    fig: Figure
    rows: dict[str, RegionPlot]


def new_figure(width_in: float, height_in: float, dpi: float = 110) -> Figure:
    """A matplotlib Figure on the Agg canvas, independent of pyplot's global state."""
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


SHORT_CLIP_S = 90.0  # up to this long, times are plain seconds; longer clips use m:ss everywhere


def set_time_axis(ax: Axes, span_s: float, clip_s: float) -> None:
    """Ticks at round times (seconds for short clips, m:ss on whole minutes or seconds for long ones)."""
    if clip_s <= SHORT_CLIP_S:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        return
    steps = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800)
    step = next((s for s in steps if span_s / s <= 8), steps[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _: f"{int(x // 3600)}:{int(x % 3600 // 60):02d}:{int(round(x % 60)):02d}" if x >= 3600
        else f"{int(x // 60)}:{int(round(x % 60)):02d}"))


def _events_in(events: EventTable, start_s: float, end_s: float) -> list[tuple[int, Event]]:
    """(event number from 1, event) of the events that overlap [start_s, end_s]."""
    return [(i + 1, e) for i, e in enumerate(events) if e.end_s > start_s and e.start_s < end_s]


def plot_region(
    movements: Movements,
    events: EventTable,
    region: str,
    *,
    ax: Axes | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    clip_s: float | None = None,
) -> RegionPlot:
    """One region's left and right movement over [start_s, end_s], events shaded in their side's colour.

    Events that involve this region are shaded strongly, other events faintly (so the rows show where each
    spasm was). `clip_s`: the whole clip's length (default: the
    span shown), which decides between seconds and m:ss on the time axis.
    """
    if ax is None:
        ax = new_figure(10, 1.6).add_subplot()
    t = movements.t_s
    start_s = float(t[0]) if start_s is None and len(t) else (start_s or 0.0)
    end_s = float(t[-1]) if end_s is None and len(t) else (end_s or 1.0)
    inside = (t >= start_s) & (t <= end_s)
    scale = 100.0
    lines = {}
    width = 0.9 if inside.sum() < 2500 else 0.55  # dense pages: thinner lines keep the peaks apart
    for side in ("right", "left"):  # left drawn last, on top
        values = movements.by_region[region, side][inside] * scale
        (lines[side],) = ax.plot(t[inside], values, color=SIDE_COLOURS[side], linewidth=width,
                                 label=SIDE_LABELS[side], solid_joinstyle="round")
    spans = []
    min_width = MIN_SPAN_FRACTION * (end_s - start_s)
    for _, row in _events_in(events, start_s, end_s):
        involved = region in row.regions
        width = max(row.end_s - row.start_s, min_width)
        spans.append(ax.axvspan(row.start_s, row.start_s + width, color=SIDE_COLOURS[row.side],
                                alpha=0.30 if involved else 0.08, linewidth=0, zorder=0))
    ax.axhline(0, color="#999999", linewidth=0.6, zorder=0)
    ax.set_xlim(start_s, end_s)
    _set_ylim(ax, region, [lines[s].get_ydata() for s in lines])
    ax.set_ylabel(f"{REGION_TITLES[region]}\n{REGION_UNITS[region]}", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(4))
    set_time_axis(ax, end_s - start_s, clip_s if clip_s is not None else end_s - start_s)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return RegionPlot(ax=ax, lines=lines, spans=spans)


def _set_ylim(ax: Axes, region: str, series: list[np.ndarray]) -> None:
    values = np.concatenate([np.asarray(s, dtype=np.float64) for s in series]) if series else np.zeros(0)
    values = values[np.isfinite(values)]
    if region == "eye":
        top = max(40.0, float(np.max(values)) * 1.08) if len(values) else 100.0
        ax.set_ylim(-10, min(top, 110.0))
        return
    # Room for the largest movement (spasms are rare, so no percentile), unless one glitch dwarfs the rest.
    extent = min(float(np.max(np.abs(values))), 3 * float(np.percentile(np.abs(values), 99))) * 1.1 \
        if len(values) else 3.0
    extent = max(extent, 3.0)
    ax.set_ylim(-extent, extent)


def plot_timeline(
    movements: Movements,
    events: EventTable,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    fig: Figure | None = None,
    title: str | None = None,
    clip_s: float | None = None,
) -> TimelinePlot:
    """Eye, brow, cheek and mouth rows sharing one time axis; event numbers above the top row."""
    t = movements.t_s
    start_s = float(t[0]) if start_s is None and len(t) else (start_s or 0.0)
    end_s = float(t[-1]) if end_s is None and len(t) else (end_s or 1.0)
    if fig is None:
        fig = new_figure(10, 6.2)
    axes = fig.subplots(len(REGIONS), 1, sharex=True)
    rows = {}
    for ax, region in zip(axes, REGIONS):
        rows[region] = plot_region(movements, events, region, ax=ax, start_s=start_s, end_s=end_s, clip_s=clip_s)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    long_clip = (clip_s if clip_s is not None else end_s - start_s) > SHORT_CLIP_S
    axes[-1].set_xlabel("time (m:ss)" if long_clip else "time (s)", fontsize=8)
    top = axes[0]
    last_label = -np.inf
    for number, row in _events_in(events, start_s, end_s):
        centre = (row.start_s + row.end_s) / 2
        if centre - last_label < LABEL_GAP_FRACTION * (end_s - start_s):
            continue  # too close to the previous number to be read; the event table lists every event
        last_label = centre
        top.annotate(f"{number}", xy=(centre, 1.0), xycoords=("data", "axes fraction"),
                     xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=7,
                     color=SIDE_COLOURS[row.side], fontweight="bold", annotation_clip=True)
    handles = [rows["eye"].lines["left"], rows["eye"].lines["right"]]
    fig.legend(handles=handles, labels=[SIDE_LABELS["left"], SIDE_LABELS["right"]], loc="upper right",
               ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.99, 1.0))
    if title:
        fig.suptitle(title, x=0.01, y=0.995, ha="left", va="top", fontsize=9, fontweight="bold")
    fig.subplots_adjust(left=0.11, right=0.97, top=0.90, bottom=0.08, hspace=0.18)
    return TimelinePlot(fig=fig, rows=rows)


def plot_overview(events: EventTable, duration_s: float, *, ax: Axes | None = None) -> dict:
    """The whole recording in one strip: each spasm as a mark in its side's row (left above, right below).

    Returns {'ax': ax, 'marks': [...]}.
    """
    if ax is None:
        ax = new_figure(10, 1.2).add_subplot()
    marks = []
    min_width = MIN_SPAN_FRACTION * 2 * max(duration_s, 1e-3)
    rows = {"left": 1, "right": 0}
    for row in events:
        width = max(row.end_s - row.start_s, min_width)
        marks.append(ax.broken_barh([(row.start_s, width)], (rows[row.side] - 0.35, 0.7),
                                    facecolors=SIDE_COLOURS[row.side]))
    ax.set_xlim(0, max(duration_s, 1e-3))
    ax.set_ylim(-0.6, 1.6)
    ax.set_yticks([1, 0], [SIDE_LABELS["left"], SIDE_LABELS["right"]], fontsize=8)
    for label, side in zip(ax.get_yticklabels(), ("left", "right")):
        label.set_color(SIDE_COLOURS[side])
    ax.tick_params(labelsize=8)
    set_time_axis(ax, duration_s, duration_s)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    return {"ax": ax, "marks": marks}


def plot_rate(events: EventTable, duration_s: float, *, bin_s: float = 60.0, ax: Axes | None = None) -> dict:
    """Spasms per minute in consecutive `bin_s` bins, stacked by side: the trend over a long recording.

    Returns {'ax': ax, 'bars': {side: BarContainer}}. A last, partial bin is scaled to a per-minute rate.
    """
    if ax is None:
        ax = new_figure(10, 1.4).add_subplot()
    n_bins = max(1, math.ceil(duration_s / bin_s))
    edges = np.arange(n_bins + 1) * bin_s
    widths = np.minimum(edges[1:], duration_s) - edges[:-1]
    bottom = np.zeros(n_bins)
    bars = {}
    for side in ("left", "right"):
        counts, _ = np.histogram(events.onset_s[events.side == side], bins=edges)
        rate = counts / np.maximum(widths, 1e-9) * 60
        bars[side] = ax.bar(edges[:-1], rate, width=widths * 0.9, align="edge", bottom=bottom,
                            color=SIDE_COLOURS[side], label=SIDE_LABELS[side])
        bottom = bottom + rate
    ax.set_xlim(0, max(duration_s, 1e-3))
    ax.set_ylabel("spasms\nper minute", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(3, integer=True))
    set_time_axis(ax, duration_s, duration_s)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.6)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    return {"ax": ax, "bars": bars}


def timeline_pages(duration_s: float) -> list[tuple[float, float]]:
    """(start_s, end_s) of each timeline page: one page up to 90 s, else equal pages of 1–30 minutes."""
    if duration_s <= SHORT_CLIP_S:
        return [(0.0, max(duration_s, 1e-3))]
    length = next((p for p in PAGE_LENGTHS_S if math.ceil(duration_s / p) <= MAX_PAGES), PAGE_LENGTHS_S[-1])
    n = math.ceil(duration_s / length)
    return [(i * length, min((i + 1) * length, duration_s)) for i in range(n)]


def _format_time(seconds: float, clip_s: float) -> str:
    """Seconds with tenths for short clips, m:ss (h:mm:ss) for long ones."""
    if clip_s <= SHORT_CLIP_S:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole >= 3600:
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{whole // 60}:{whole % 60:02d}"


def overview_figure(events: EventTable, duration_s: float, *, dpi: float = 110) -> Figure:
    """Every spasm of a long recording by side, and spasms per minute over time (from 3 minutes on)."""
    with_rate = duration_s >= 180
    fig = new_figure(10, 2.6 if with_rate else 1.3, dpi)
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[1, 1.3]) if with_rate else [fig.add_subplot()]
    plot_overview(events, duration_s, ax=axes[0])
    if with_rate:
        axes[0].tick_params(labelbottom=False)
        plot_rate(events, duration_s, ax=axes[1], bin_s=60.0 if duration_s <= 1800 else 120.0)
    title = f"Whole recording ({_format_time(duration_s, duration_s)}): every spasm by side"
    fig.suptitle(title + (", and spasms per minute" if with_rate else ""), x=0.01, ha="left", fontsize=9,
                 fontweight="bold")
    fig.subplots_adjust(left=0.11, right=0.97, top=0.86 if with_rate else 0.75, bottom=0.12 if with_rate else 0.22,
                        hspace=0.25)
    return fig


def figure_rgb(fig: Figure) -> np.ndarray:
    """The drawn figure as an (h, w, 3) uint8 RGB array."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()


def timeline_images(movements: Movements, events: EventTable, duration_s: float, *, dpi: float = 110
                    ) -> list[np.ndarray]:
    """RGB images of the timeline: an overview first when there are several pages, then each page."""
    images = []
    pages = timeline_pages(duration_s)
    if len(pages) > 1:
        images.append(figure_rgb(overview_figure(events, duration_s, dpi=dpi)))
    for i, (start, end) in enumerate(pages):
        # Short last pages keep the page length, so every page has the same time scale.
        page_end = start + (pages[0][1] - pages[0][0]) if len(pages) > 1 else end
        title = (f"Timeline {_format_time(start, duration_s)}–{_format_time(end, duration_s)} "
                 f"(page {i + 1} of {len(pages)})" if len(pages) > 1
                 else f"Timeline, whole recording ({_format_time(duration_s, duration_s)})")
        plot = plot_timeline(movements, events, start_s=start, end_s=page_end, fig=new_figure(10, 6.2, dpi),
                             title=title, clip_s=duration_s)
        images.append(figure_rgb(plot.fig))
    return images


def png_bytes(rgb: np.ndarray) -> bytes:
    """PNG encoding of an RGB image (OpenCV's encoder, much faster than matplotlib's)."""
    import cv2

    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise ValueError("PNG encoding failed")
    return data.tobytes()


def stack_images(images: list[np.ndarray], gap_px: int = 8) -> np.ndarray:
    """Images one above the other on white (widths padded to the widest)."""
    width = max(im.shape[1] for im in images)
    parts = []
    for im in images:
        pad = np.full((im.shape[0], width - im.shape[1], 3), 255, dtype=np.uint8)
        parts.extend([np.hstack([im, pad]), np.full((gap_px, width, 3), 255, dtype=np.uint8)])
    return np.vstack(parts[:-1])


def save_png(rgb: np.ndarray, path) -> None:
    """Write an RGB image as PNG."""
    with open(path, "wb") as out:
        out.write(png_bytes(rgb))


__all__ = ["SIDE_COLOURS", "RegionPlot", "TimelinePlot", "overview_figure", "plot_overview", "plot_rate",
           "plot_region", "plot_timeline", "timeline_images", "timeline_pages"]

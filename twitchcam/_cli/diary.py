"""`twitchcam diary` (treatments) and `twitchcam history` (sessions over weeks, as a table, CSV or plot)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from twitchcam.store.diary import TREATMENTS

db_option = click.option("--db", type=click.Path(dir_okay=False, path_type=str),
                         help="Diary file  [default: $TWITCHCAM_DIARY, or diary.sqlite3 in the user data folder]")


def _day(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-03-14", ctx, param) from None


@click.group()
def diary() -> None:
    """Record treatments; export or delete sessions."""


@diary.command("add-treatment")
@click.argument("kind", type=click.Choice(TREATMENTS))
@click.option("--date", "day", required=True, callback=_day, metavar="YYYY-MM-DD", help="When it was given.")
@click.option("--side", type=click.Choice(["left", "right", "both"]), help="Which side was treated.")
@click.option("--note", help="e.g. the dose, or the muscles injected.")
@db_option
def add_treatment(kind: str, day: date, side: str | None, note: str | None, db: str | None) -> None:
    """Add a treatment (botox, surgery, medication, other); history shows it on the plot."""
    from twitchcam.store.diary import Diary, Treatment

    with Diary(db) as book:
        number = book.add_treatment(Treatment(day=day, kind=kind, side=side, note=note))
        click.echo(f"treatment {number} added: {kind} on {day.isoformat()}" + (f", {side} side" if side else ""))


@diary.command("treatments")
@db_option
def list_treatments(db: str | None) -> None:
    """List the treatments in the diary."""
    from twitchcam.store.diary import Diary

    with Diary(db, create=False) as book:
        table = book.treatments()
    click.echo(table.fillna("").to_string(index=False) if len(table) else "no treatments yet")


@diary.command("export")
@click.argument("session", type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=str),
              help="Folder for events.csv, frames.csv and summary.json, as `analyze` writes them.")
@click.option("--report", "make_report", is_flag=True, help="Also write report.html for the doctor.")
@db_option
def export(session: int, out_dir: str, make_report: bool, db: str | None) -> None:
    """Write one session (number from `history`) as results files, e.g. to give to a doctor."""
    from twitchcam.store.diary import Diary

    with Diary(db, create=False) as book:
        analysis = book.analysis(session)
        sessions = book.sessions()
    this = sessions.set_index("id").loc[session]
    video = this["video_file"]  # kept only with --save-video
    analysis.write(out_dir)
    if make_report:
        from twitchcam.render.report import write_report
        from twitchcam.render.report_html import EarlierSession

        video = video if video and Path(video).exists() else None
        earlier = EarlierSession.from_diary(sessions[sessions["started_at"] < this["started_at"]])
        written = write_report(out_dir, analysis, video=video, earlier=earlier)
        for note in written.notes:
            click.echo(f"twitchcam: warning: {note}", err=True)
    click.echo(f"session {session} written to {out_dir}")


@diary.command("delete")
@click.argument("session", type=int)
@db_option
def delete(session: int, db: str | None) -> None:
    """Remove a session (number from `history`) and all that was stored with it."""
    from twitchcam.store.diary import Diary

    with Diary(db, create=False) as book:
        book.delete_session(session)
    click.echo(f"session {session} deleted")


@click.command()
@db_option
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=str), help="Also write the table as CSV.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=str),
              help="Also write a PNG plot of spasms per minute over the days, with the treatments marked.")
def history(db: str | None, csv_file: str | None, plot_file: str | None) -> None:
    """The diary's sessions: date, minutes, spasms per minute, % of time in spasm, affected side."""
    from twitchcam.render.history import history_table, save_history_plot
    from twitchcam.store.diary import Diary
    from twitchcam.store.results import replace_file

    with Diary(db, create=False) as book:
        sessions, treatments = book.sessions(), book.treatments()
    table = history_table(sessions)
    click.echo(table.to_string(index=False) if len(table) else "no sessions yet: record one with `twitchcam live`")
    if csv_file:
        replace_file(csv_file, table.to_csv(index=False).encode())
    if plot_file:
        save_history_plot(sessions, treatments, plot_file)
        click.echo(f"plot written to {plot_file}", err=True)

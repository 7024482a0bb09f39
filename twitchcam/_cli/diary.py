"""`twitchcam diary` (treatments) and `twitchcam history` (sessions over weeks, as a table, CSV or plot)."""

from __future__ import annotations

from datetime import date

import click

from twitchcam.diary import TREATMENTS

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
    """Record treatments in the diary and list them."""


@diary.command("add-treatment")
@click.argument("kind", type=click.Choice(TREATMENTS))
@click.option("--date", "day", required=True, callback=_day, metavar="YYYY-MM-DD", help="When it was given.")
@click.option("--side", type=click.Choice(["left", "right", "both"]), help="Which side was treated.")
@click.option("--note", help="e.g. the dose, or the muscles injected.")
@db_option
def add_treatment(kind: str, day: date, side: str | None, note: str | None, db: str | None) -> None:
    """Add a treatment (botox, surgery, medication, other); history shows it on the plot."""
    from twitchcam.diary import Diary, Treatment

    with Diary(db) as book:
        number = book.add_treatment(Treatment(day=day, kind=kind, side=side, note=note))
        click.echo(f"treatment {number} added: {kind} on {day.isoformat()}" + (f", {side} side" if side else ""))


@diary.command("treatments")
@db_option
def list_treatments(db: str | None) -> None:
    """List the treatments in the diary."""
    from twitchcam.diary import Diary

    with Diary(db, create=False) as book:
        table = book.treatments()
    click.echo(table.fillna("").to_string(index=False) if len(table) else "no treatments yet")


@click.command()
@db_option
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=str), help="Also write the table as CSV.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=str),
              help="Also write a PNG plot of spasms per minute over the days, with the treatments marked.")
def history(db: str | None, csv_file: str | None, plot_file: str | None) -> None:
    """The diary's sessions: date, minutes, spasms per minute, % of time in spasm, affected side."""
    from twitchcam.diary import Diary
    from twitchcam.history import history_table, save_history_plot
    from twitchcam.results import replace_file

    with Diary(db, create=False) as book:
        sessions, treatments = book.sessions(), book.treatments()
    table = history_table(sessions)
    click.echo(table.to_string(index=False) if len(table) else "no sessions yet: record one with `twitchcam live`")
    if csv_file:
        replace_file(csv_file, table.to_csv(index=False).encode())
    if plot_file:
        save_history_plot(sessions, treatments, plot_file)
        click.echo(f"plot written to {plot_file}", err=True)

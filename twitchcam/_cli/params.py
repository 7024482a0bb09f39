"""`twitchcam params`: every parameter `--param` can change, with its default, its allowed values and its meaning.

The meanings are the field docstrings of `twitchcam.core.parameters`, read from its source with `ast`, so the
listing and the code cannot disagree.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import json
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import Any

import click


@dataclass(frozen=True)
class ParameterInfo:
    """One name `--param` takes: `threshold_sigmas`, `threshold_floor.iris_contrast`, `quality.min_fps`."""

    name: str
    default: Any
    kind: str
    """"number", "whole number", "text", "channel names" or "choice"."""
    allowed: str
    help: str


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring written under it in the class body (attribute docstrings, PEP 257)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = next(node for node in tree.body if isinstance(node, ast.ClassDef)).body
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def parameter_infos() -> list[ParameterInfo]:
    """Every parameter, in the order of the table (table entries and quality fields spelled out)."""
    from twitchcam.core.parameters import FUSION_RULES, DetectionParameters, parameter_range

    infos = []

    def add(cls: type, prefix: str, defaults: Any) -> None:
        docs = field_docs(cls)
        for f in dataclasses.fields(cls):
            value, allowed = getattr(defaults, f.name), parameter_range(cls, f.name)
            if dataclasses.is_dataclass(value):
                add(type(value), f"{prefix}{f.name}.", value)
            elif isinstance(value, dict):
                infos.extend(ParameterInfo(f"{prefix}{f.name}.{key}", entry, "number", str(allowed or ""),
                                           docs.get(f.name, "")) for key, entry in value.items())
            else:
                if f.name == "evidence_fusion":
                    kind, shown = "choice", ", ".join(FUSION_RULES)
                elif f.name == "channels":
                    kind, shown = "channel names", "comma-separated trigger channels, or all"
                else:
                    kind = {int: "whole number", float: "number"}.get(type(value), "text")
                    shown = str(allowed or "")
                infos.append(ParameterInfo(f"{prefix}{f.name}", value, kind, shown, docs.get(f.name, "")))

    add(DetectionParameters, "", DetectionParameters())
    return infos


def _shown(value: Any) -> str:
    if value is None:
        return "all"
    if isinstance(value, tuple):
        return ",".join(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


@click.command("params")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON list: name, default, kind, allowed values and meaning of each parameter.")
def params_command(as_json: bool) -> None:
    """List every parameter `--param NAME=VALUE` can change (analyze, batch, live), with its default and meaning."""
    infos = parameter_infos()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(i) for i in infos], indent=2))
        return
    click.echo("Detection, blinks and the summary (DetectionParameters):\n")
    # A table's entries (threshold_floor.<channel>) share one meaning: listed together, explained once.
    in_quality = False
    for (_, meaning), group in itertools.groupby(infos, key=lambda i: (i.name.split(".")[0], i.help)):
        entries = list(group)
        if entries[0].name.startswith("quality.") and not in_quality:
            in_quality = True
            click.echo("Quality warnings (QualityParameters; they change warnings, never events):\n")
        for info in entries:
            allowed = f"  [{info.allowed}]" if info.allowed else ""
            click.echo(f"{info.name} = {_shown(info.default)}{allowed}")
        click.echo(textwrap.indent(textwrap.fill(" ".join(meaning.split()), 100), "    ") + "\n")

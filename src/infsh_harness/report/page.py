"""The pages: Jinja2 templates (``templates/``) filled from the part readers, written beside the summaries.

``write_part`` writes one part's page into its folder (``contract/summary.html``,
``load/summary.html``, ``drift/drift.html``); ``write_index`` writes ``index.html`` of a whole run
from ``run.json`` and each step's folder. Both pages stand alone: styles, script and charts inline,
a Content-Security-Policy that lets the page fetch nothing, every raw file linked by a relative path.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from infsh_harness._version import __version__
from infsh_harness.report.model import Missing, RawFile, could_not_run, not_run, raw_files
from infsh_harness.report.read_contract import ContractPart, read_contract
from infsh_harness.report.read_drift import DriftPart, read_drift
from infsh_harness.report.read_load import LoadPart, read_load
from infsh_harness.report.read_run import StepView, log_tail, read_run
from infsh_harness.report.redact import Redactor

__all__ = ["INDEX", "PAGES", "PARTS", "Part", "read_part", "write_index", "write_part"]

Part = ContractPart | LoadPart | DriftPart | Missing

INDEX = "index.html"
PAGES: Mapping[str, str] = {"contract": "summary.html", "load": "summary.html", "drift": "drift.html"}
PARTS = tuple(PAGES)
_CODE_SPAN = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Section:
    """One part on a page: its id (anchor), heading, the step that made it, and the path prefix of its files."""

    id: str
    heading: str
    view: Part
    base: str  # the part's folder relative to the page ("" on its own page)
    step: StepView | None = None
    page: str = ""  # the part's own page relative to the index, when it was written
    log: str = ""  # the step's log relative to the index, when it was written


def read_part(part: str, folder: Path, redactor: Redactor, exit_code: int | None = None, informational: bool = False,
              not_before: float | None = None, error: str | None = None) -> Part:  # fmt: skip
    """One part's view. ``not_before``: a summary written earlier is an earlier run's, not this one's;
    ``error``: why the command could not run at all (then no summary is read)."""
    if error is not None and part in PAGES:
        return could_not_run(part, f"The {part} run could not be made: {redactor.text(error)}.")
    if part == "contract":
        return read_contract(folder, redactor, exit_code, not_before)
    if part == "load":
        return read_load(folder, redactor, exit_code, not_before=not_before)
    if part == "drift":
        return read_drift(folder, redactor, exit_code, informational, not_before)
    return could_not_run(part, f"The run names a part this page cannot show: {part!r}.")


def write_part(
    part: str, folder: Path | str, *, exit_code: int | None = None, secrets: Iterable[str | None] = (),
    error: str | None = None,
) -> Path:
    """Write the page of one part (``contract``, ``load`` or ``drift``) into ``folder``; its path.

    ``error``: the command could not run, and this is why: the page says so, and shows no summary
    an earlier run may have left in ``folder``."""
    if part not in PAGES:
        raise ValueError(f"unknown part {part!r} (choose from {', '.join(PARTS)})")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / PAGES[part]
    view = read_part(part, folder, Redactor(secrets), exit_code, error=error)
    sections = [Section(part, part.capitalize(), view, "")]
    files = raw_files(folder, exclude=frozenset({page.name}))
    html = _render("part.html.j2", title=f"infsh-harness {part}", verdict=view.verdict, sections=sections,
                   files=files, files_base="")  # fmt: skip
    page.write_text(html, encoding="utf-8")
    return page


def write_index(out: Path | str, *, secrets: Iterable[str | None] = ()) -> Path:
    """Write ``index.html`` of the run in ``out`` (read from ``out/run.json`` and the steps' folders)."""
    out = Path(out)
    redactor = Redactor(secrets)
    run = read_run(out, redactor)
    sections = [_section(out, step, redactor) for step in run.steps]
    files = raw_files(out, exclude=frozenset({INDEX}))
    html = _render("index.html.j2", title="infsh-harness run", verdict=run.verdict, run=run, sections=sections,
                   files=files, files_base="")  # fmt: skip
    page = out / INDEX
    page.write_text(html, encoding="utf-8")
    return page


def _section(out: Path, step: StepView, redactor: Redactor) -> Section:
    if step.exit_code is None:
        view: Part = not_run(step.part, f"The {step.name} step was left out (--skip {step.part}).")
    else:
        view = read_part(step.part, out / step.folder, redactor, step.exit_code, informational=not step.gating,
                         not_before=step.started_at)
        if isinstance(view, Missing) and step.log and (out / step.log).is_file():
            view = dataclasses.replace(view, log=step.log, log_tail=log_tail(out / step.log, redactor))
    base = f"{step.folder.rstrip('/')}/" if step.folder not in ("", ".") else ""
    page = base + PAGES.get(step.part, "")
    log = step.log if step.log and (out / step.log).is_file() else ""
    return Section(step.name, step.name, view, base, step, page if (out / page).is_file() else "", log)


def _charts(sections: Sequence[Section]) -> dict[str, Markup]:
    from infsh_harness.report.charts import draw

    return {
        chart.id: Markup(draw(chart))  # matplotlib's SVG: numbers and redacted labels
        for s in sections
        if isinstance(s.view, LoadPart)
        for scenario in s.view.scenarios
        for chart in scenario.charts
    }


def _render(template: str, **context: Any) -> str:
    sections: Sequence[Section] = context["sections"]
    written_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return _environment().get_template(template).render(
        charts=_charts(sections), version=__version__, written_at=written_at, **context
    )


def _num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"


def _pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _href(path: str) -> str:
    return quote(path, safe="/")


def _ticks(text: str) -> Markup:
    """Text with its Markdown code spans (`like this`) as ``<code>``; everything else escaped."""
    return Markup(_CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def _group_files(files: Sequence[RawFile]) -> list[tuple[str, list[RawFile]]]:
    """The files by folder: the page's own folder first, then the others by name."""
    groups: dict[str, list[RawFile]] = {}
    for f in sorted(files, key=lambda f: (f.folder != ".", f.folder, f.path)):
        groups.setdefault(f.folder, []).append(f)
    return list(groups.items())


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("infsh_harness.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Callable[..., Any]] = {
        "num": _num, "pct": _pct, "size": _size, "href": _href, "ticks": _ticks, "group_files": _group_files,
    }  # fmt: skip
    env.filters.update(filters)
    return env

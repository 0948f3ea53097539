"""One HTML page of a run, and one per part, built from the same summaries as the Markdown.

``infsh-harness run`` writes ``index.html`` (:func:`write_index`, from ``run.json`` and each step's
folder); ``contract``, ``load`` and ``drift`` write their part's page (:func:`write_part`). The
readers (``read_contract``, ``read_load``, ``read_drift``, ``read_run``) are the only code that
knows the summaries' formats; the templates (``templates/``, Jinja2) and the charts (``charts``,
matplotlib SVG) know only what the readers give them. Keys never reach a page (``redact``).

Importing this package imports neither Jinja2 nor matplotlib: the CLI imports it cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from infsh_harness import defaults

__all__ = ["keys_in", "write_index", "write_part"]


def keys_in(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Every key value ``environ`` gives the harness (the clients' and the mock's), to redact."""
    return defaults.key_values(environ)


def write_part(
    part: str, folder: Path | str, *, exit_code: int | None = None, secrets: Iterable[str | None] = (),
    error: str | None = None,
) -> Path:
    """Write the page of ``part`` (``contract``, ``load`` or ``drift``) into ``folder``; returns its path.

    ``exit_code`` is the command's, said on the page when the part left no summary; ``error``: the
    command could not run, and why (the page says so, and reads no summary left by an earlier run);
    ``secrets`` are key values to redact besides anything shaped like ``inf_…``."""
    from infsh_harness.report.page import write_part as write

    return write(part, folder, exit_code=exit_code, secrets=secrets, error=error)


def write_index(out: Path | str, *, secrets: Iterable[str | None] = ()) -> Path:
    """Write ``out/index.html`` of a whole run from ``out/run.json`` and the steps' folders."""
    from infsh_harness.report.page import write_index as write

    return write(out, secrets=secrets)

"""The files the harness reads at run time, shipped inside the package.

``openapi/tasks.yaml`` (the documented contract), ``documented-contract.yaml`` (the documentation's
tables as data), ``apps.yaml`` (the mock's test apps), ``wire.yaml`` (the wire profile's numbers
and field lists) and ``slo.yaml`` (the default load objectives). Everything that reads one asks
:func:`path`, so an installed wheel works from any folder; users may still pass their own files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["path"]


def path(name: str) -> Path:
    """The file ``name`` (e.g. ``"openapi/tasks.yaml"``) of the package data, as a filesystem path."""
    resource = files(__package__) / name
    # wheels and editable installs unpack the package, so every resource is a real file
    return Path(str(resource))

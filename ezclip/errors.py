"""The project's errors: each names the file (and line) or the thing the user asked for."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path


class EzclipError(Exception):
    """Base class: caught by the command line and printed as one line, without a traceback."""


class InputError(EzclipError, ValueError):
    """Bad input data: a list, class CSV, description CSV or video. Names the file and line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path, self.line, self.message = str(path), line, message
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")


class WeightsError(EzclipError, FileNotFoundError):
    """Weights that were asked for cannot be had (missing file, wrong hash, unreachable tag)."""


class UnknownNameError(EzclipError, KeyError):
    """An unknown model, architecture, protocol or dataset name; suggests the closest names."""

    def __init__(self, kind: str, name: object, known: Collection[str]) -> None:
        close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}{hint} (known: {', '.join(sorted(known))})")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]

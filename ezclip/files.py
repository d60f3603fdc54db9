"""Files written whole or not at all: every file the project writes (records, lists, tables, figures,
videos, weights, checkpoints) goes through ``atomic_path``, so a kill or an error mid-write never
leaves half a file for a reader, or a resume, to trust."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same folder and suffix, so writers that go by the suffix
    still work) that replaces ``path`` when the block ends, and is removed if the block fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def file_state(path: str | Path) -> list[int] | None:
    """A file's size and modification time (None: absent), to notice it replaced or fixed later."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]

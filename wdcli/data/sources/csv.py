"""A CSV file (and an optional test file), read once: seeds share it and only split it
differently. Parsing is wdcli.data.csvdata's; a file's stamp tells caches when it changed."""

from __future__ import annotations

import functools
import hashlib
import stat
import time
from pathlib import Path

from wdcli.config import CsvData
from wdcli.data.sources import Raw, source


def stamp(cfg: CsvData) -> tuple:
    """What tells that the dataset's files changed."""
    return _stamp(cfg.path), _stamp(cfg.test_path)


def _stamp(path: Path | None) -> tuple | None:
    """Size, modification time and inode of a file; its content's hash too when it was
    modified in the last seconds (timestamps are coarse: git's "racy clean" case)."""
    if path is None:
        return None
    try:
        info = Path(path).stat()
        stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
        recent = time.time() - info.st_mtime < 3
        if recent and stat.S_ISREG(info.st_mode) and info.st_size < 2**28:  # a pipe: never
            stamp += (hashlib.sha256(Path(path).read_bytes()).hexdigest(),)  # type: ignore[assignment]
    except OSError:
        return None
    return stamp


@source("csv", read_once=True, stamp=stamp)
def load(cfg: CsvData, seed: int) -> Raw:
    return _cached(cfg.model_dump_json(), *stamp(cfg))


@functools.lru_cache(maxsize=2)
def _cached(cfg_json: str, *stamps) -> Raw:
    # Seeds share the file: it is read once, each seed only splits it differently.
    from wdcli.data.csvdata import load_csv

    cfg = CsvData.model_validate_json(cfg_json)
    train, test, task = load_csv(cfg)
    return Raw(train.X, train.y, (test.X, test.y) if test is not None else None, task)

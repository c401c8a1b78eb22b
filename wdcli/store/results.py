"""The results file: one self-contained JSON document per sweep, written atomically.

Writing goes to a temporary file in the same folder, which is fsync'd and renamed over the
target, so a reader sees the old file or the new one, never half of one; an OS error is one
line naming the file. Loading checks the schema version and every field by type
(`wdcli.records`), and says what is wrong in one line naming the field.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from wdcli import CONVENTION, __version__
from wdcli.errors import ResultsError, WriteError, read_text
from wdcli.records import READABLE_VERSIONS, SCHEMA_VERSION, Results, kind_of, parse
from wdcli.store.journal import JOURNAL_SUFFIX


def now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def environment() -> dict:
    """Versions that can change the numbers: Python, numpy, scikit-learn, the BLAS."""
    from importlib.metadata import version

    import numpy
    from threadpoolctl import threadpool_info

    blas = [
        {k: pool.get(k) for k in ("internal_api", "version", "num_threads")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": numpy.__version__,
        "scikit_learn": version("scikit-learn"),  # without importing it (~1 s)
        "blas": blas,
    }


def build_document(
    *,
    config: dict,
    config_hash: str,
    task: str,
    data_fingerprint: str,
    runs: list[dict],
    summary: list[dict],
    best_lambda: float | None,
    lambda_1se: float | None,
    started_at: str,
    finished_at: str,
    executor: str,
) -> dict:
    """The results document of DESIGN.md, fields in a stable order."""
    return {
        "schema_version": SCHEMA_VERSION,
        "wdcli_version": __version__,
        "convention": CONVENTION,
        "config": config,
        "config_hash": config_hash,
        "task": task,
        "data_fingerprint": data_fingerprint,
        "environment": {**environment(), "executor": executor},
        "started_at": started_at,
        "finished_at": finished_at,
        "runs": runs,
        "summary": summary,
        "best_lambda": best_lambda,
        "lambda_1se": lambda_1se,
    }


def dumps(document: dict) -> str:
    """The document as JSON text (no NaN: non-finite numbers are null already), with each
    list of numbers (a curve, a λ grid) on one line, so that long curves stay compact."""
    text = json.dumps(document, indent=1, allow_nan=False, ensure_ascii=False)
    return _NUMBER_LIST.sub(_one_line, text) + "\n"


_NUMBER = r"(?:-?\d[\d.eE+-]*|null)"
_NUMBER_LIST = re.compile(rf"\[\n(?:[ ]*{_NUMBER},\n)*[ ]*{_NUMBER}\n[ ]*\]")


def _one_line(match: re.Match) -> str:
    return "[" + ", ".join(item.strip().rstrip(",") for item in match[0][1:-1].split()) + "]"


def write_atomic(path: Path, text: str, overwrite: bool = False) -> None:
    """Write text to path via a temp file + fsync + rename; never replace a file unless asked.

    An OS error (no permission, disk full, not a folder) is a WriteError naming the path;
    the temp file is removed and the target is left as it was.
    """
    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"{path}: is a folder")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a results file is for sharing
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if path exists, even if another process made it
            except FileExistsError:
                raise ResultsError(
                    f"{path}: already exists; pass --force to overwrite it or --out another file"
                ) from None
            os.unlink(tmp)
        _fsync_folder(path.parent)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_results(path: str | Path) -> Results:
    """Read and check a results file; every problem is a ResultsError naming the file.

    The document comes back as a `records.Results`: version-1 files get the run key's defaults
    (`point` {}, `fold` 0) and non-finite numbers read as null, in the record and in its
    `plain()` data (the file's fields in the file's order).
    """
    text = read_text(path, ResultsError, "results file")  # type: ignore[arg-type]
    if not text.strip():
        raise ResultsError(f"{path}: is empty, not a results file")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:  # "Unterminated string starting at": no double "at"
        reason = exc.msg.removesuffix(" at")
        hint = ""
        if str(path).endswith((".yaml", ".yml")):
            hint = f"; a config? `wdcli sweep {path}` runs it and writes its results file"
        elif str(path).endswith(JOURNAL_SUFFIX):
            results = str(path).removesuffix(JOURNAL_SUFFIX) + ".json"
            hint = (
                "; the journal of an unfinished sweep: `wdcli sweep CONFIG --out "
                f"{results} --resume` finishes it and writes its results file"
            )
        raise ResultsError(
            f"{path}: not valid JSON ({reason} at line {exc.lineno}){hint}"
        ) from None
    except RecursionError:
        raise ResultsError(f"{path}: not a results file (nested too deeply)") from None
    return check_document(document, str(path))


def check_document(document, source: str) -> Results:
    """The document checked and normalised, or ResultsError naming the source and the field."""
    record = _checked(document, source)
    return record.with_plain(
        _ordered_like(record.model_dump(by_alias=True, exclude_unset=True), document)
    )


def typed(document: dict, source: str = "the results") -> Results:
    """A document just built (`build_document`) as a record; its `plain()` is the document
    itself, as it is written."""
    return _checked(document, source).with_plain(document)


def _checked(document, source: str) -> Results:
    if not isinstance(document, dict):
        raise ResultsError(
            f"{source}: not a results file (a JSON {_kind(document)}, not an object)"
        )
    if "schema_version" not in document:
        raise ResultsError(f"{source}: not a results file (no schema_version)")
    version = document["schema_version"]
    if isinstance(version, int) and not isinstance(version, bool):
        if version not in READABLE_VERSIONS:
            hint = "; upgrade wdcli to read it" if version > SCHEMA_VERSION else ""
            readable = " and ".join(str(v) for v in READABLE_VERSIONS)
            raise ResultsError(
                f"{source}: schema version {version}, this wdcli reads versions {readable}{hint}"
            )
    try:
        return parse(Results, document, source)  # type: ignore[return-value]
    except ValueError as exc:
        raise ResultsError(str(exc)) from None


def _ordered_like(data, raw):
    """data with its mappings' keys in raw's order (filled defaults first): as the file reads."""
    if isinstance(data, dict) and isinstance(raw, dict):
        keys = [k for k in data if k not in raw] + [k for k in raw if k in data]
        return {k: _ordered_like(data[k], raw.get(k)) for k in keys}
    if isinstance(data, list) and isinstance(raw, list) and data and isinstance(data[0], dict):
        return [_ordered_like(d, r) for d, r in zip(data, raw, strict=True)]
    return data


def _kind(value) -> str:
    return kind_of(value).removeprefix("an ").removeprefix("a ")

"""`--set key=value`: dotted keys into the parsed YAML, before validation."""

from __future__ import annotations

import copy
import re
from typing import Any

from wdcli.config.yamlfile import parse_yaml
from wdcli.errors import ConfigError

# --------------------------------------------------------------------------- overrides

_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_key(key: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for match in _KEY_PART.finditer(key):
        if match.start() != pos and not (key[pos] == "." and match.start() == pos + 1):
            break
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts or pos != len(key):
        raise ConfigError(
            f"--set {key}: not a key (use dotted names and [i], e.g. model.hidden[0])"
        )
    return parts


def apply_override(data: dict, assignment: str, defaults: dict | None = None) -> None:
    """Apply one `key=value` override in place; the value is parsed as YAML.

    A section or list that the file leaves to its default is first copied from `defaults`
    (the resolved config), so `--set model.hidden[1]=32` works on the default hidden sizes.
    """
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment}: expected key=value")
    key = key.strip()
    parts = _split_key(key)
    if parts[0] in ("grid", "tune") and len(parts) > 2:  # an axis' name is itself dotted
        axis = key.partition(".")[2]
        raise ConfigError(
            f"--set {key}: the axes of {parts[0]}: are dotted keys, not nested ones; use "
            f"--{parts[0]} {axis}=v1,v2 (or --set '{parts[0]}={{{axis}: [v1, v2]}}')"
        )
    value = parse_yaml(text, f"--set {key}") if text.strip() else None
    node: Any = data
    default: Any = defaults
    for i, part in enumerate(parts):
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError(f"--set {key}: {_join_key(parts[:i]) or 'config'} is not a list")
            if part >= len(node):
                raise ConfigError(f"--set {key}: index {part} out of range (length {len(node)})")
        elif not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {_join_key(parts[:i])} is not a mapping")
        default = _child(default, part)
        if i == len(parts) - 1:
            node[part] = value
        else:
            if isinstance(part, str) and not isinstance(node.get(part), (dict, list)):
                node[part] = copy.deepcopy(default) if isinstance(default, (dict, list)) else {}
            node = node[part]


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _join_key(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text

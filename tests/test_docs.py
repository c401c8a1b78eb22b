"""Every config a user is shown is valid: the files in configs/ and the YAML blocks of the docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wdcli.config import Config, load_config, parse_yaml, validate
from wdcli.sweep import check_task

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def yaml_blocks() -> list[tuple[str, str]]:
    """(where, text) of every ```yaml block in the README and docs/."""
    blocks = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for i, match in enumerate(re.finditer(r"^```yaml\n(.*?)^```", text, re.S | re.M)):
            blocks.append((f"{path.relative_to(ROOT)}#{i}", match.group(1)))
    return blocks


def test_there_are_configs_and_yaml_blocks_to_check():
    assert len(CONFIGS) >= 6
    assert any(where.startswith("README.md") for where, _ in yaml_blocks())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_validates(path):
    from wdcli.sweep.autogrid import resolve_grid

    config = resolve_grid(load_config(path))  # `lambdas: auto` is chosen from the data
    check_task(config)
    assert config.lambda_values() and config.seed_values()


@pytest.mark.parametrize("where, text", yaml_blocks(), ids=[where for where, _ in yaml_blocks()])
def test_every_yaml_block_in_the_docs_is_a_valid_config(where, text):
    data = parse_yaml(text, where)
    if isinstance(data, dict) and {"dataset", "model"} <= data.keys():
        check_task(validate(data, where))
    else:  # a fragment: it must at least sit inside a config
        assert isinstance(data, dict)
        keys = set(Config.model_fields)
        assert data.keys() <= keys, (
            f"{where}: keys {sorted(data.keys() - keys)} are not config keys"
        )

"""The JSON Schema of a config file, for editors (`wdcli schema`)."""

from __future__ import annotations

from typing import Any

from wdcli.config.schema import Config


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wdcli config"
    return schema

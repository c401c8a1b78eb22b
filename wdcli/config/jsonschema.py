"""The JSON Schema of a config file, for editors (`wdcli schema`)."""

from __future__ import annotations

from typing import Any

from wdcli.config.schema import Config


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors."""
    schema = Config.model_json_schema()
    # `lambdas: auto` is the word for {auto: true}, read by LambdaAuto before validation
    schema["properties"]["lambdas"]["oneOf"].append(
        {"const": "auto", "description": "A grid of 30 λ chosen from the data."}
    )
    # top-level x-… keys hold YAML anchors to reuse, and are ignored (as in Docker Compose)
    schema["patternProperties"] = {"^x-": {}}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wdcli config"
    return schema

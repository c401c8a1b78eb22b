"""Configs: the schema (pydantic, one source of truth), the YAML file, `--set` overrides,
validation messages, grids over config keys and the JSON schema.

    schema.py ─ datasets.py, models.py, base.py   what a config may hold
    yamlfile.py → overrides.py → messages.py → loader.py   how a file becomes a Config
    grid.py    the points of `grid:` / `tune:` as Configs
"""

from wdcli.config.datasets import (
    DATASET_CONFIGS,
    BreastCancerData,
    ClassificationData,
    CsvData,
    DatasetBase,
    DigitsData,
    Friedman1Data,
    ModularData,
    task_of,
)
from wdcli.config.jsonschema import json_schema
from wdcli.config.loader import load_config
from wdcli.config.messages import validate
from wdcli.config.models import MODEL_CONFIGS, LinearModel, LogisticModel, MLPModel
from wdcli.config.overrides import apply_override
from wdcli.config.schema import Config, Holdout, KFold, LambdaAuto, LambdaGrid, LeaveOneOut
from wdcli.config.yamlfile import parse_yaml
from wdcli.tasks import CLASSIFICATION, REGRESSION

__all__ = [
    "CLASSIFICATION",
    "DATASET_CONFIGS",
    "MODEL_CONFIGS",
    "REGRESSION",
    "BreastCancerData",
    "ClassificationData",
    "Config",
    "CsvData",
    "DatasetBase",
    "DigitsData",
    "Friedman1Data",
    "Holdout",
    "KFold",
    "LambdaAuto",
    "LambdaGrid",
    "LeaveOneOut",
    "LinearModel",
    "LogisticModel",
    "MLPModel",
    "ModularData",
    "apply_override",
    "json_schema",
    "load_config",
    "parse_yaml",
    "task_of",
    "validate",
]

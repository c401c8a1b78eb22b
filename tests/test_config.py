"""The config loader: good configs resolve, bad ones fail with the exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from wdcli.cli.starters import STARTERS
from wdcli.config import Config, apply_override, json_schema, load_config, parse_yaml
from wdcli.errors import ConfigError


def test_numbers_are_read_as_the_user_means_them(write_config):
    path = write_config("""\
        name: n
        dataset: {name: poly}
        model: {name: mlp, lr: 1e-3, eps: 1E-8}
        lambdas: [0, 1e-4, 2.5e-2, 1]
        """)
    config = load_config(path)
    assert config.model.lr == 1e-3
    assert config.model.eps == 1e-8
    assert config.lambda_values() == [0.0, 1e-4, 2.5e-2, 1.0]


def test_log_grid_is_exact_at_the_decades(write_config):
    path = write_config("""\
        name: g
        dataset: {name: poly}
        model: {name: linear}
        lambdas: {start: 1e-4, stop: 1, num: 5, include_zero: true}
        seeds: 2
        """)
    config = load_config(path)
    assert config.lambda_values() == [0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    assert config.seed_values() == [0, 1]


def test_resolved_config_fills_defaults_and_hash_is_stable(write_config):
    path = write_config("name: a\ndataset: {name: moons}\nmodel: {name: logistic}\nlambdas: [1]\n")
    config = load_config(path)
    resolved = config.resolved()
    assert resolved["dataset"]["noise"] == 0.3
    assert resolved["model"]["tol"] == 1e-8
    assert config.hash() == load_config(path).hash()
    assert config.hash() != load_config(path, ["lambdas=[2]"]).hash()


@pytest.mark.parametrize(
    ("assignments", "check"),
    [
        (["model.hidden[1]=7"], lambda c: c.model.hidden == [64, 7]),
        (["model.hidden=[8]"], lambda c: c.model.hidden == [8]),
        (
            ["dataset.noise=0.5", "seeds=[3, 5]"],
            lambda c: c.dataset.noise == 0.5 and c.seed_values() == [3, 5],
        ),
        (
            ["lambdas={start: 1e-3, stop: 1e-1, num: 3}"],
            lambda c: c.lambda_values() == [1e-3, 1e-2, 1e-1],
        ),
        (["model.lr=1e-2"], lambda c: c.model.lr == 0.01),
    ],
)
def test_overrides(write_config, assignments, check):
    path = write_config("name: o\ndataset: {name: friedman1}\nmodel: {name: mlp}\nlambdas: [0]\n")
    assert check(load_config(path, assignments))


@pytest.mark.parametrize(
    ("text", "overrides", "message"),
    [
        (
            "name: x\ndataset: {name: poly, degre: 3}\nmodel: {name: linear}\nlambdas: [0]\n",
            [],
            "{p}: dataset.degre: unknown key (did you mean 'degree'?)",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: mlp, hiden: [3]}\nlambdas: [0]\n",
            [],
            "{p}: model.hiden: unknown key (did you mean 'hidden'?)",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: mlp, hidden: [0]}\nlambdas: [0]\n",
            [],
            "{p}: model.hidden[0]: must be ≥ 1",
        ),
        (
            "name: x\ndataset: {name: polly}\nmodel: {name: linear}\nlambdas: [0]\n",
            [],
            "{p}: dataset.name: unknown name 'polly' (did you mean 'poly'?); choose from poly, "
            "regression, friedman1, classification, moons, circles, diabetes, breast_cancer, wine, "
            "iris, digits, csv, modular",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0, 0]\n",
            [],
            "{p}: lambdas: duplicate value 0",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [-1]\n",
            [],
            "{p}: lambdas[0]: must be ≥ 0",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: {start: 1, stop: 0.1, num: 3}\n",
            [],
            "{p}: lambdas: stop (0.1) must be ≥ start (1)",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: {strat: 1, stop: 2, num: 3}\n",
            [],
            "{p}: lambdas.strat: unknown key (did you mean 'start'?)\n{p}: lambdas.start: required key is missing",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\n",
            [],
            "{p}: lambdas: required key is missing",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0]\nseed: 3\n",
            [],
            "{p}: seed: unknown key (did you mean 'seeds'?)",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0]\nseeds: 0\n",
            [],
            "{p}: seeds: must be ≥ 1",
        ),
        ("name: x\nname: y\n", [], "{p}: line 2: duplicate key 'name'"),
        (
            "name: [x\n",
            [],
            "{p}: line 2: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        ("", [], "{p}: the config is empty"),
        ("- 1\n", [], "{p}: the config is a list, not a mapping"),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0]\n",
            ["model.hidden[2]=1"],
            "--set model.hidden[2]: model.hidden is not a list",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: mlp}\nlambdas: [0]\n",
            ["model.hidden[5]=1"],
            "--set model.hidden[5]: index 5 out of range (length 2)",
        ),
        (
            "name: x\ndataset: {name: poly}\nmodel: {name: mlp}\nlambdas: [0]\n",
            ["model"],
            "--set model: expected key=value",
        ),
        (
            "name: a b\ndataset: {name: poly}\nmodel: {name: linear}\nlambdas: [0]\n",
            [],
            "{p}: name: must match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'",
        ),
    ],
)
def test_bad_configs_say_exactly_what_is_wrong(write_config, text, overrides, message):
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    assert str(info.value) == message.format(p=path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such file$"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a folder, not a config file$"):
        load_config(tmp_path)


def test_yaml_loader_is_safe():
    with pytest.raises(ConfigError, match="invalid YAML"):
        parse_yaml("a: !!python/object/apply:os.system ['true']\n", "x")


def test_apply_override_creates_sections():
    data = {"name": "x"}
    apply_override(data, "dataset.name=poly")
    assert data == {"name": "x", "dataset": {"name": "poly"}}


@pytest.mark.parametrize("model", sorted(STARTERS))
def test_starter_configs_validate(model):
    from wdcli.config import validate

    config = validate(parse_yaml(STARTERS[model], "<init>"), "<init>")
    assert config.model.name == model


def test_schema_lists_every_dataset_and_model():
    schema = json_schema()
    text = str(schema)
    for name in ("poly", "csv", "digits", "mlp", "logistic", "linear", "include_zero"):
        assert name in text
    assert schema["title"] == "wdcli config"
    assert set(Config.model_fields) <= set(schema["properties"])


@pytest.mark.parametrize("model", ["linear", "logistic", "mlp"])
def test_a_model_without_a_written_starter_gets_one_from_its_defaults(model):
    from wdcli.cli.starters import derived
    from wdcli.config import MODEL_CONFIGS, validate

    config = validate(parse_yaml(derived(model), "<init>"), "<init>")
    assert config.model == MODEL_CONFIGS[model].model_validate({"name": model})
    assert config.lambdas == validate(parse_yaml(STARTERS[model], "<init>"), "<init>").lambdas


@pytest.mark.parametrize("path", sorted(Path("configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_config_is_valid_under_the_json_schema(path):
    # editors were told that `lambdas: auto` (configs/diabetes_cv.yaml) is invalid
    import jsonschema

    jsonschema.validate(parse_yaml(path.read_text(), str(path)), json_schema())


def test_extension_keys_are_valid_under_the_json_schema():
    import jsonschema

    text = "x-base: &b {name: poly}\nname: x\ndataset: *b\nmodel: {name: linear}\nlambdas: [0]\n"
    jsonschema.validate(parse_yaml(text, "<test>"), json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(parse_yaml(text.replace("x-base", "y-base"), "<test>"), json_schema())

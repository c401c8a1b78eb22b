"""What λ did in a sweep, in words: the L2 penalty, or decoupled decay in one of two conventions.

Every table caption, results file and plot axis takes its wording from here, so that a
decoupled sweep is never captioned with the L2 formula.

    l2:                  J = L + λ·Σw²  (the gradient gets 2λ·w)
    decoupled, torch:    w ← w − lr·η_t·2λ·w after each step  (PyTorch AdamW, weight_decay = 2λ)
    decoupled, paper:    w ← w − η_t·2λ·w after each step     (Loshchilov & Hutter, η_t the
                                                               schedule multiplier alone)

With plain SGD and a constant schedule, l2 and torch-decoupled are the same update (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wdcli import CONVENTION

DECOUPLED = {
    "torch": "decoupled decay w ← w − lr·η_t·2λ·w after each step (PyTorch AdamW with "
    "weight_decay = 2λ; weights only, biases not decayed)",
    "paper": "decoupled decay w ← w − η_t·2λ·w after each step (Loshchilov & Hutter: η_t is the "
    "schedule multiplier, not the learning rate; weights only, biases not decayed)",
}
SHORT = {
    "l2": "L2 penalty λ·Σw²",
    "torch": "decoupled decay, w ← w − lr·η_t·2λ·w",
    "paper": "decoupled decay, w ← w − η_t·2λ·w",
}


def _kind(model: Mapping[str, Any]) -> str:
    if model.get("regularization") == "decoupled":
        return model.get("decay_convention") or "torch"
    return "l2"


def _models(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The model section of every point (a grid or tune axis may change the regularisation)."""
    model = config.get("model", {})
    models = [model]
    for section in ("grid", "tune"):
        for key, values in (config.get(section) or {}).items():
            name = key.removeprefix("model.")
            if key.startswith("model.") and name in ("regularization", "decay_convention"):
                models = [{**m, name: v} for m in models for v in values]
    return models


def kinds(config: Mapping[str, Any]) -> list[str]:
    """'l2', 'torch' or 'paper' for every distinct kind of λ in a (resolved) config."""
    return list(dict.fromkeys(_kind(m) for m in _models(config)))


def _sentence(kind: str) -> str:
    return CONVENTION if kind == "l2" else DECOUPLED[kind]


def convention(config) -> str:
    """The sentence a results file and a table caption carry for this config."""
    resolved = config if isinstance(config, Mapping) else config.resolved()
    found = kinds(resolved)
    if len(found) == 1:
        return _sentence(found[0])
    return "; ".join(f"{k if k == 'l2' else 'decoupled (' + k + ')'}: {_sentence(k)}"
                     for k in found)  # fmt: skip


def lambda_axis(config: Mapping[str, Any]) -> str:
    """The λ axis name of a figure: what λ multiplied (config: a results file's config)."""
    found = kinds(config)
    return "λ (" + " | ".join(SHORT[k] for k in found) + ")"

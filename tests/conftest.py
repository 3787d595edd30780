"""Shared fixtures: a tiny trained text model, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "corpora"

TINY_LINES = [
    "Mary rides the bicycle, the bicycle is hers.",
    "John rides the bicycle, the bicycle is his.",
    "Mary drives the car, the car is hers.",
    "John drives the car, the car is his.",
    "I ride the bicycle, the bicycle is mine.",
    "We drive the car, the car is ours.",
]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A small but trained model directory (a few seconds to build)."""
    from seqtext import TextModel

    model = TextModel(embed=16, hidden=64, epochs=120, patience=120, lr=3e-3, batch_size=4, seed=0,
                      embed_dropout=0.0, output_dropout=0.0, lr_decay=1.0,
                      device="cpu", valid_fraction=0.0)
    model.fit(TINY_LINES * 4)
    return model.save(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def tiny_model(tiny_model_dir):
    from seqtext import load

    return load(tiny_model_dir)

"""The feature bank: tiles know their pages, banked losses equal the full model's, and a fold never sees its pages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from core.waldo.bank import FeatureBank, bank_losses, build_bank, train_on_bank
from core.waldo.model import load_waldo_weights
from core.waldo.train import TileSampler, load_train_pages, new_model, to_model_batch

SMALL_PAGES = ["hiw_22.jpg", "hiw_31.jpg"]


@pytest.fixture(scope="module")
def pages(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    everything = json.loads((data_dir / "waldo" / "annotations.json").read_text())
    subset = tmp_path_factory.mktemp("bank") / "subset.json"
    subset.write_text(json.dumps({name: everything[name] for name in SMALL_PAGES}))
    return load_train_pages(data_dir / "waldo", subset)


def test_tiles_name_the_pages_they_were_cut_from(pages: list) -> None:
    sampler = TileSampler(pages, tile=128, seed=3)
    assert sampler._synthetic().pages == ()
    assert sampler._positive().pages in {(name,) for name in SMALL_PAGES}
    pasted = sampler._paste()  # a crowd of one page with the other's Waldo (or its own) pasted in
    assert len(pasted.pages) == 2 and set(pasted.pages) <= set(SMALL_PAGES)
    assert all(set(sampler.sample().pages) <= set(SMALL_PAGES) for _ in range(12))


@pytest.mark.parametrize("cut", [14, 7])
def test_banked_losses_equal_the_full_models(pages: list, cut: int) -> None:
    bank = build_bank(pages, 4, cut=cut, tile=128, seed=5, progress=False)
    sampler = TileSampler(pages, tile=128, seed=5)
    tiles = [sampler.sample() for _ in range(4)]  # the same draws as the bank's
    assert [len(t.boxes) for t in tiles] == [len(b) for b in bank.boxes]
    model = new_model().train()
    torch.manual_seed(0)  # the RPN and RoI heads sample anchors and proposals from torch's generator
    full = model(*to_model_batch(tiles))
    torch.manual_seed(0)
    banked = bank_losses(model, bank, np.arange(4))
    for name, value in full.items():
        assert float(banked[name].detach()) == pytest.approx(float(value.detach()), rel=0.05, abs=1e-3), (
            name
        )  # fp16 features


def test_a_fold_trains_only_on_tiles_of_other_pages(pages: list, tmp_path: Path) -> None:
    bank = build_bank(pages, 48, cut=14, tile=128, seed=0, progress=False)
    bank.save(tmp_path / "bank.pt")
    loaded = FeatureBank.load(tmp_path / "bank.pt")
    assert loaded.pages == bank.pages and torch.equal(loaded.features["x"], bank.features["x"])
    allowed = loaded.allowed(["hiw_22.jpg"])
    assert 0 < len(allowed) < len(loaded.pages)
    assert all("hiw_22.jpg" not in loaded.pages[i] for i in allowed)
    assert any("hiw_22.jpg" in names for names in loaded.pages)
    out = train_on_bank(loaded, tmp_path / "fold.pt", held_out=["hiw_22.jpg"], iterations=3, batch=4, progress=False)
    trained, initial = load_waldo_weights(out), new_model()
    frozen = "backbone.body.0.0.weight"  # below the cut: ImageNet's weights, untouched
    assert torch.allclose(trained.state_dict()[frozen], initial.state_dict()[frozen], atol=1e-3)
    assert len(out.with_suffix(".losses.csv").read_text().splitlines()) == 4
    synthetic = loaded.allowed(SMALL_PAGES)  # holding out every real page leaves the synthetic crowds
    assert all(loaded.pages[i] == [] for i in synthetic)
    with pytest.raises(ValueError, match="avoid the held-out pages"):
        train_on_bank(loaded, tmp_path / "none.pt", held_out=SMALL_PAGES, batch=len(synthetic) + 1, progress=False)

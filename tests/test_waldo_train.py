"""Training: the tile sampler on real pages, hard-negative mining, losses falling on a fixed synthetic batch,
and tiny end-to-end runs (in-process and with spawned tile workers)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch

from core.models import load_model
from core.waldo.eval import is_hit
from core.waldo.model import load_waldo_model
from core.waldo.synth import make_page
from core.waldo.train import (
    LOSS_COLUMNS,
    Instance,
    Tile,
    TileSampler,
    TrainPage,
    load_train_pages,
    make_optimizer,
    mine_decoys,
    new_model,
    to_model_batch,
    train,
    train_step,
)


def _subset(data_dir: Path, tmp_path: Path, names: list[str]) -> Path:
    everything = json.loads((data_dir / "waldo" / "annotations.json").read_text())
    path = tmp_path / "subset.json"
    path.write_text(json.dumps({n: everything[n] for n in names}))
    return path


def test_sampler_tiles_have_masks_inside_their_boxes(data_dir: Path, tmp_path: Path) -> None:
    pages = load_train_pages(data_dir / "waldo", _subset(data_dir, tmp_path, ["hiw_22.jpg", "hiw_31.jpg"]))
    assert [p.name for p in pages] == ["hiw_22.jpg", "hiw_31.jpg"]
    assert [i.exact for p in pages for i in p.instances] == [True, False]  # polygon vs GrabCut-derived
    sampler = TileSampler(pages, tile=128, seed=1)
    assert set(sampler.sources) == {"synthetic", "positive", "paste", "negative"}
    tiles = [sampler.sample() for _ in range(16)] + [sampler._paste(), sampler._positive()]
    for tile in tiles:
        assert tile.image.shape == (128, 128, 3) and tile.masks.shape[1:] == (128, 128)
        for box, mask in zip(tile.boxes.astype(int), tile.masks, strict=True):
            ys, xs = np.nonzero(mask)
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == tuple(box)
    assert len(tiles[-2].boxes) >= 1 and len(tiles[-1].boxes) >= 1


def test_losses_fall_on_a_fixed_synthetic_batch() -> None:
    torch.manual_seed(0)
    pages = [make_page(seed, (160, 160), person_height=(30, 50)) for seed in (1, 2)]
    batch = [Tile(p.image, p.boxes, p.waldo_mask[None]) for p in pages]
    model = new_model()
    optimizer = make_optimizer(model, lr=0.01)
    totals = [train_step(model, optimizer, to_model_batch(batch))["total"] for _ in range(8)]
    assert np.mean(totals[-2:]) < 0.7 * np.mean(totals[:2]), totals


def test_train_writes_weights_that_load_and_a_loss_log(tmp_path: Path) -> None:
    out = train(None, tmp_path / "w.pt", iterations=2, batch=1, tile=128, checkpoint_every=1, progress=False)
    model = load_waldo_model(out)
    assert not model.training
    rows = list(csv.DictReader(out.with_suffix(".losses.csv").read_text().splitlines()))
    assert [int(r["iteration"]) for r in rows] == [1, 2]
    assert all(float(r[c]) >= 0 for r in rows for c in LOSS_COLUMNS)


def test_spawned_tile_workers_feed_training(tmp_path: Path) -> None:
    out = train(None, tmp_path / "w.pt", iterations=2, batch=1, tile=128, workers=1, progress=False)
    rows = list(csv.DictReader(out.with_suffix(".losses.csv").read_text().splitlines()))
    assert [int(r["iteration"]) for r in rows] == [1, 2] and all(float(r["total"]) > 0 for r in rows)


def test_mined_decoys_are_confident_finds_that_hit_no_labelled_waldo() -> None:
    page = make_page(900_300, (384, 512))
    x0, y0, x1, y1 = page.waldo_box
    waldo = Instance(page.waldo_box, page.waldo_mask[y0:y1, x0:x1], exact=True, kind="hidden")
    model = load_model("waldo_maskrcnn").model
    labelled, unlabelled = TrainPage("a", page.image, [waldo]), TrainPage("b", page.image, [])
    mine_decoys(model, [labelled, unlabelled], progress=False)
    assert not any(is_hit(box, page.waldo_box) for box in labelled.decoys)
    # the same page with Waldo left unlabelled: the model's confident find of him is now a "false" find
    assert any(is_hit(box, page.waldo_box) for box in unlabelled.decoys)
    sampler = TileSampler([labelled, unlabelled], tile=128, seed=2)
    assert "decoy" in sampler.sources
    assert "decoy" not in TileSampler([TrainPage("c", page.image, [waldo])], tile=128).sources

"""Cheaper training runs for cross-validation: a bank of augmented tiles whose frozen backbone features are computed
once, and training of the rest of the detector on them.

Why: on these 2 CPU cores a full training step of 8 tiles costs about 0.8 s (one thread), and comparing recipes by
k-fold cross-validation needs k models per recipe. The bank draws its tiles with the same ``TileSampler`` (the same
mix of real crops, hard negatives, copy-paste and synthetic crowds, the same augmentation), records the real pages
each tile was cut from, runs MobileNetV2 blocks below ``cut`` once, and stores their output in fp16. A fold's model
then trains only on tiles that touch none of its held-out pages, and only the blocks from ``cut`` up, the FPN and
the heads run each step. The price: the frozen blocks are ImageNet's, and each tile is seen with one augmentation
however often it is drawn. One bank serves every fold and every recipe that shares its cut.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.models.detection.image_list import ImageList
from tqdm import tqdm

from core.waldo.model import WaldoConfig
from core.waldo.train import (
    GRAD_CLIP,
    LOSS_COLUMNS,
    TileSampler,
    TrainPage,
    learning_rate,
    make_optimizer,
    new_model,
    write_checkpoint,
)

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
STRIDE8, STRIDE16 = WaldoConfig().return_layers  # the MobileNetV2 blocks the FPN reads


@dataclass
class FeatureBank:
    """Frozen features of ``len(pages)`` tiles: the input of block ``cut`` (and block 6's output when ``cut`` > 7),
    each tile's boxes and masks, and the real pages it came from."""

    cut: int
    tile: int
    features: dict[str, torch.Tensor]  # "x": (N, C, h, w) fp16; "0": (N, 32, T/8, T/8) fp16 when cut > 7
    boxes: list[torch.Tensor]  # per tile (n, 4) float32
    masks: list[torch.Tensor]  # per tile (n, T, T) uint8
    pages: list[list[str]]

    def allowed(self, held_out: Iterable[str]) -> np.ndarray:
        """Indices of the tiles that touch none of the ``held_out`` pages."""
        held_out = set(held_out)
        return np.asarray([i for i, names in enumerate(self.pages) if not held_out & set(names)], int)

    def save(self, path: Path) -> None:
        payload = {"cut": self.cut, "tile": self.tile, "features": self.features, "boxes": self.boxes}
        torch.save({**payload, "masks": self.masks, "pages": self.pages}, path)

    @classmethod
    def load(cls, path: Path) -> FeatureBank:
        """Memory-mapped, so several fold trainings in parallel share one copy in the page cache."""
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return cls(state["cut"], state["tile"], state["features"], state["boxes"], state["masks"], state["pages"])


@torch.inference_mode()
def build_bank(
    pages: list[TrainPage], count: int, *, cut: int = 14, tile: int = 256, seed: int = 0, progress: bool = True
) -> FeatureBank:
    """Draw ``count`` tiles from ``pages`` and run the ImageNet-initialised blocks below ``cut`` on them once."""
    if not WaldoConfig().first_trainable_block <= cut <= STRIDE16 + 1:
        raise ValueError(f"cut must lie in {WaldoConfig().first_trainable_block}..{STRIDE16 + 1}")
    blocks = list(new_model().backbone.body.children())[:cut]
    sampler = TileSampler(pages, tile, seed=seed)
    chunks: dict[str, list[torch.Tensor]] = {"x": [], "0": []}
    boxes, masks, names = [], [], []
    for start in tqdm(range(0, count, 16), disable=not progress, desc="feature bank"):
        tiles = [sampler.sample() for _ in range(min(16, count - start))]
        x = torch.from_numpy(np.stack([t.image for t in tiles])).permute(0, 3, 1, 2).float().div(255)
        x = (x - MEAN) / STD
        for index, block in enumerate(blocks):
            x = block(x)
            if index == STRIDE8 and cut > STRIDE8 + 1:  # at cut STRIDE8 + 1, x itself is block 6's output
                chunks["0"].append(x.half())
        chunks["x"].append(x.half())
        boxes += [torch.from_numpy(t.boxes).float().reshape(-1, 4) for t in tiles]
        masks += [torch.from_numpy(t.masks.astype(np.uint8)) for t in tiles]
        names += [list(t.pages) for t in tiles]
    features = {key: torch.cat(parts) for key, parts in chunks.items() if parts}
    return FeatureBank(cut, tile, features, boxes, masks, names)


def bank_losses(model: torch.nn.Module, bank: FeatureBank, indices: np.ndarray) -> dict[str, torch.Tensor]:
    """The Mask R-CNN training losses of the tiles ``indices``, from their banked features up."""
    x = bank.features["x"][indices].float()
    levels = {"0": bank.features["0"][indices].float()} if "0" in bank.features else {}
    if bank.cut == STRIDE8 + 1:
        levels["0"] = x
    for index, block in enumerate(list(model.backbone.body.children())[bank.cut :], start=bank.cut):
        x = block(x)
        if index == STRIDE8:
            levels["0"] = x
    levels["1"] = x
    features = model.backbone.fpn(levels)
    images = ImageList(
        torch.zeros(1).expand(len(indices), 3, bank.tile, bank.tile), [(bank.tile, bank.tile)] * len(indices)
    )
    targets = [
        {"boxes": bank.boxes[i], "labels": torch.ones(len(bank.boxes[i]), dtype=torch.int64), "masks": bank.masks[i]}
        for i in indices
    ]
    proposals, rpn_losses = model.rpn(images, features, targets)
    _, head_losses = model.roi_heads(features, proposals, images.image_sizes, targets)
    return {**rpn_losses, **head_losses}


def train_on_bank(
    bank: FeatureBank,
    out: Path,
    *,
    held_out: Iterable[str] = (),
    iterations: int = 2000,
    batch: int = 8,
    lr: float = 0.02,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Train a detector on the bank's tiles that touch no ``held_out`` page; write ``out`` and ``out``.losses.csv."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    allowed = bank.allowed(held_out)
    if len(allowed) < batch:
        raise ValueError(f"only {len(allowed)} bank tiles avoid the held-out pages")
    model = new_model()
    for block in list(model.backbone.body.children())[: bank.cut]:
        block.requires_grad_(False)
    optimizer = make_optimizer(model, lr)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".losses.csv"), "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["iteration", "seconds", "lr", *LOSS_COLUMNS, "total"])
        for iteration in tqdm(range(iterations), disable=not progress, desc=f"bank train {out.stem}"):
            began = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(iteration, iterations, lr)
            model.train()
            losses = bank_losses(model, bank, rng.choice(allowed, batch, replace=False))
            total = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], GRAD_CLIP)
            optimizer.step()
            row = [float(losses[k].detach()) for k in LOSS_COLUMNS] + [float(total.detach())]
            writer.writerow(
                [iteration + 1, f"{time.perf_counter() - began:.3f}", f"{group['lr']:.5f}"] + [f"{v:.4f}" for v in row]
            )
    write_checkpoint(model, out)
    return out

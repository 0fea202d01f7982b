"""Training the Waldo detector (CPU or GPU): a tile sampler over real pages and synthetic crowds, and the loop.

Each batch mixes these kinds of tiles, cut from the pages at scales that draw the hidden figure 22-110 px tall
(log-uniform: the training pages' Waldos are mostly 45-90 px, other books' down to 25) and the crowds around him
at 0.4-1.6x:
  - real positives: a training page cropped around one of its Waldo boxes, at a random offset
    (boxes too big for a tile, such as cover posters, are scaled down until they fit);
  - real hard negatives: a crop of a training page that touches no Waldo box (crowds, stamps of other characters);
  - copy-paste: a hard negative with a polygon-masked hidden Waldo from another training page pasted in at a
    random height (GrabCut masks are too rough to paste: their edges would teach a seam, not Waldo);
  - synthetic crowds from ``core.waldo.synth`` (15% of them without Waldo);
  - decoys, only when fine-tuning a checkpoint (``init``) with ``decoys``: crops around its own confident false
    finds on the training pages (hard-negative mining);
in the proportions of SOURCE_WEIGHTS.
Every tile is then flipped, and its colour, sharpness and JPEG quality jittered: 39 pages are few, and the model
must not learn their particular scans. Tiles are drawn in DataLoader workers when ``workers`` > 0, and the model
trains on a GPU when one is there; the shipped checkpoint is always a CPU fp16 state dict.
Losses are the four Mask R-CNN losses the original plotted (rpn class, rpn box, class + box, mask), logged to CSV.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from core.boxes import box_iou
from core.images import open_image, to_array
from core.models import get_spec, load_state_dict
from core.waldo.data import instance_masks, load_annotations, page_path, split_pages
from core.waldo.eval import is_hit
from core.waldo.infer import find_waldo
from core.waldo.model import build_waldo_model, load_waldo_weights, state_dict_for_shipping
from core.waldo.synth import make_page

LOSS_COLUMNS = ("loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg", "loss_mask")
SOURCE_WEIGHTS = {"synthetic": 0.2, "positive": 0.35, "paste": 0.25, "negative": 0.2, "decoy": 0.2}
DECOY_SCORE = 0.3  # a find this confident that hits no Waldo is a decoy worth training against
HIDDEN_WEIGHT = 3.0  # hidden figures are what the page is about: sample them 3x as often as stamps and posters
MIN_VISIBLE = 0.6  # a Waldo cut by the tile edge is labelled only if this share of his box is inside
GRAD_CLIP = 10.0  # a few odd tiles (huge posters, crowded decoys) must not blow up a small-batch step
HIDDEN_HEIGHTS = (22.0, 110.0)  # px: the hidden figure is drawn this tall on pages 700-2,500 px wide
ICON_SCALES = (0.6, 1.5)  # stamps and posters: jitter around their own size
BACKGROUND_SCALES = (0.4, 1.6)  # crowds are seen at the same range of scales as the hidden figures in them
PASTE_MAX_SIDE = 160  # px: bigger cutouts are posters, not hidden figures


@dataclass
class Instance:
    """One Waldo: integer box on its page and the boolean mask over that box."""

    box: tuple[int, int, int, int]
    mask: np.ndarray
    exact: bool  # drawn polygon (True) or derived GrabCut mask (False)
    kind: str  # "hidden" or "icon" (core.waldo.data.box_kind)


@dataclass
class TrainPage:
    name: str
    image: np.ndarray
    instances: list[Instance]
    decoys: list[tuple[float, float, float, float]] = field(default_factory=list)  # a model's confident false finds


@dataclass
class Tile:
    image: np.ndarray  # TxTx3 uint8
    boxes: np.ndarray  # (N, 4) float32
    masks: np.ndarray  # (N, T, T) bool
    pages: tuple[str, ...] = ()  # the real pages it was cut from (a fold's model must never see its own pages)


def load_train_pages(folder: Path, annotations: Path | None = None, split: str = "train") -> list[TrainPage]:
    """Open every page of ``split`` with its instance masks cut down to their boxes."""
    pages = []
    for page in split_pages(load_annotations(annotations or Path(folder) / "annotations.json"), split):
        image = to_array(open_image(page_path(folder, page), max_side=None))
        instances = []
        kinds = page.box_kinds(image.shape[1], image.shape[0])
        for box, mask, kind in zip(page.boxes, instance_masks(image, page), kinds, strict=True):
            x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
            x1, y1 = min(image.shape[1], int(math.ceil(box[2]))), min(image.shape[0], int(math.ceil(box[3])))
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                instances.append(Instance((x0, y0, x1, y1), mask[y0:y1, x0:x1], bool(page.polygons), kind))
        pages.append(TrainPage(page.file, image, instances))
    return pages


def mine_decoys(model: torch.nn.Module, pages: list[TrainPage], progress: bool = True) -> int:
    """Record on each page the finds of ``model`` scoring at least DECOY_SCORE that hit none of its Waldos."""
    count = 0
    for page in tqdm(pages, disable=not progress, desc="mining decoys"):
        result = find_waldo(model, page.image)
        page.decoys = [
            d.box
            for d in result.above(DECOY_SCORE)
            if not any(is_hit(d.box, i.box) or box_iou(d.box, i.box) > 0.1 for i in page.instances)
        ]
        count += len(page.decoys)
    return count


class TileSampler:
    """Draws training tiles of ``tile`` px from real pages and synthetic crowds, deterministically from ``seed``."""

    def __init__(self, pages: list[TrainPage], tile: int = 256, seed: int | Sequence[int] = 0) -> None:
        self.pages, self.tile = pages, tile
        self.rng = np.random.default_rng(seed)
        self.positives = [(p, i) for p in pages for i in p.instances]
        weights = np.asarray([HIDDEN_WEIGHT if i.kind == "hidden" else 1.0 for _, i in self.positives])
        self.positive_odds = weights / weights.sum() if len(weights) else weights
        self.cutouts = [
            (p, i)
            for p in pages
            for i in p.instances
            if i.exact and i.kind == "hidden" and max(i.mask.shape) <= PASTE_MAX_SIDE
        ]
        self.sources: dict[str, Callable[[], Tile]] = {
            "synthetic": self._synthetic,
            "positive": self._positive,
            "paste": self._paste,
            "negative": self._negative,
            "decoy": self._decoy,
        }
        self.decoys = [(p, box) for p in pages for box in p.decoys]
        if not self.positives:
            self.sources.pop("positive")
        if not self.cutouts:
            self.sources.pop("paste")
        if not self.decoys:
            self.sources.pop("decoy")
        if not pages:
            self.sources = {"synthetic": self._synthetic}

    def sample(self) -> Tile:
        names = list(self.sources)
        weights = np.asarray([SOURCE_WEIGHTS[n] for n in names])
        tile = self.sources[names[self.rng.choice(len(names), p=weights / weights.sum())]]()
        return self._augment(tile)

    def _synthetic(self) -> Tile:
        page = make_page(
            int(self.rng.integers(1 << 31)),
            (self.tile, self.tile),
            waldo=self.rng.random() < 0.85,
            person_height=(20, 70),
        )
        masks = page.waldo_mask[None] if page.waldo_mask is not None else np.zeros((0, self.tile, self.tile), bool)
        return Tile(page.image, page.boxes, masks)

    def _positive(self) -> Tile:
        page, instance = self.positives[self.rng.choice(len(self.positives), p=self.positive_odds)]
        x0, y0, x1, y1 = instance.box
        if instance.kind == "hidden":  # the training pages' Waldos are taller than many others': draw a height
            scale = self._log_uniform(*HIDDEN_HEIGHTS) / (y1 - y0)
        else:
            scale = self.rng.uniform(*ICON_SCALES)
        return self._around(page, instance.box, scale)

    def _decoy(self) -> Tile:
        """A crop around one of the mined false finds (stripes, look-alikes), at about its own size."""
        page, box = self.decoys[self.rng.integers(len(self.decoys))]
        return self._around(page, box, self.rng.uniform(*ICON_SCALES))

    def _around(self, page: TrainPage, box, scale: float) -> Tile:
        """A tile holding ``box`` at ``scale`` (reduced if the box would not fit), at a random offset."""
        x0, y0, x1, y1 = box
        longest = max(x1 - x0, y1 - y0)
        if longest * scale > 0.8 * self.tile:
            scale = 0.8 * self.tile / longest * self.rng.uniform(0.6, 1.0)
        span = self.tile / scale
        left = self.rng.uniform(x1 - span, x0) if span > x1 - x0 else x0
        top = self.rng.uniform(y1 - span, y0) if span > y1 - y0 else y0
        return self._crop(page, left, top, span)

    def _negative(self, attempts: int = 10) -> Tile:
        page = self.pages[self.rng.integers(len(self.pages))]
        span = self.tile / self._log_uniform(*BACKGROUND_SCALES)
        height, width = page.image.shape[:2]
        for _ in range(attempts):
            left, top = self.rng.uniform(0, max(1, width - span)), self.rng.uniform(0, max(1, height - span))
            if not any(_overlaps(i.box, (left, top, left + span, top + span)) for i in page.instances):
                break
        return self._crop(page, left, top, span)

    def _paste(self) -> Tile:
        tile = self._negative()
        source_page, cutout = self.cutouts[self.rng.integers(len(self.cutouts))]
        x0, y0, x1, y1 = cutout.box
        source = source_page.image[y0:y1, x0:x1]
        scale = min(self._log_uniform(*HIDDEN_HEIGHTS) / (y1 - y0), 0.8 * self.tile / max(x1 - x0, y1 - y0))
        size = (max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale)))
        patch = cv2.resize(source, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        mask = cv2.resize(cutout.mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        px, py = int(self.rng.integers(0, self.tile - size[0] + 1)), int(self.rng.integers(0, self.tile - size[1] + 1))
        image = tile.image.copy()
        image[py : py + size[1], px : px + size[0]][mask] = patch[mask]
        full = np.zeros((1, self.tile, self.tile), bool)
        full[0, py : py + size[1], px : px + size[0]] = mask
        keep = [k for k in range(len(tile.boxes)) if not (tile.masks[k] & full[0]).any()]
        boxes = np.concatenate([tile.boxes[keep], _mask_boxes(full)])
        return Tile(image, boxes, np.concatenate([tile.masks[keep], full]), (*tile.pages, source_page.name))

    def _log_uniform(self, low: float, high: float) -> float:
        return float(np.exp(self.rng.uniform(np.log(low), np.log(high))))

    def _crop(self, page: TrainPage, left: float, top: float, span: float) -> Tile:
        """The page square (left, top, span) resized to the tile, with the Waldos visible enough inside it.

        Shrinking goes through cv2.resize's area filter (warpAffine has none), so a shrunk crowd looks like a
        low-resolution scan rather than an aliased one.
        """
        span = math.ceil(span) if span > self.tile else span
        scale = self.tile / span
        affine = np.float32([[scale, 0, -left * scale], [0, scale, -top * scale]])
        if scale < 1:
            shift = np.float32([[1, 0, -left], [0, 1, -top]])
            region = cv2.warpAffine(page.image, shift, (span, span), borderMode=cv2.BORDER_REFLECT)
            image = cv2.resize(region, (self.tile, self.tile), interpolation=cv2.INTER_AREA)
        else:
            image = cv2.warpAffine(page.image, affine, (self.tile, self.tile), borderMode=cv2.BORDER_REFLECT)
        masks = []
        for instance in page.instances:
            if not _overlaps(instance.box, (left, top, left + span, top + span)):
                continue
            x0, y0 = instance.box[:2]
            shifted = affine.copy()
            shifted[:, 2] += affine[:, :2] @ np.float32([x0, y0])
            mask = cv2.warpAffine(
                instance.mask.astype(np.uint8), shifted, (self.tile, self.tile), flags=cv2.INTER_NEAREST
            ).astype(bool)
            if mask.sum() >= MIN_VISIBLE * instance.mask.sum() * scale * scale and mask.sum() >= 12:
                masks.append(mask)
        masks = np.asarray(masks, bool).reshape(-1, self.tile, self.tile)
        return Tile(image, _mask_boxes(masks), masks, (page.name,))

    def _augment(self, tile: Tile) -> Tile:
        """Flip, then jitter brightness, contrast, saturation, sharpness and JPEG quality like another scan would."""
        image, masks, boxes = tile.image, tile.masks, tile.boxes.copy()
        if self.rng.random() < 0.5:
            image, masks = image[:, ::-1], masks[:, :, ::-1]
            boxes[:, [0, 2]] = self.tile - boxes[:, [2, 0]]
        pixels = image.astype(np.float32)
        grey = pixels.mean(axis=2, keepdims=True)
        pixels = grey + (pixels - grey) * self.rng.uniform(0.7, 1.3)
        pixels = pixels * self.rng.uniform(0.8, 1.2) + self.rng.uniform(-20, 20)
        image = np.ascontiguousarray(np.clip(pixels, 0, 255).astype(np.uint8))
        if self.rng.random() < 0.2:
            image = cv2.GaussianBlur(image, (0, 0), self.rng.uniform(0.4, 1.0))
        if self.rng.random() < 0.3:
            quality = int(self.rng.integers(35, 90))
            encoded = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
            image = np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1])
        return Tile(image, boxes, np.ascontiguousarray(masks), tile.pages)


def _overlaps(box, region) -> bool:
    return box[0] < region[2] and region[0] < box[2] and box[1] < region[3] and region[1] < box[3]


def _mask_boxes(masks: np.ndarray) -> np.ndarray:
    boxes = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.asarray(boxes, np.float32).reshape(-1, 4)


Batch = tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]


def to_model_batch(tiles: list[Tile]) -> Batch:
    """Tiles to torchvision's (images, targets) training input."""
    images = [torch.from_numpy(t.image).permute(2, 0, 1).float().div(255) for t in tiles]
    targets = [
        {
            "boxes": torch.from_numpy(t.boxes).float().reshape(-1, 4),
            "labels": torch.ones(len(t.boxes), dtype=torch.int64),
            "masks": torch.from_numpy(t.masks.astype(np.uint8)),
        }
        for t in tiles
    ]
    return images, targets


class TileStream(torch.utils.data.IterableDataset):
    """Endless training batches; each DataLoader worker draws from its own sampler, seeded by (seed, start, worker)."""

    def __init__(self, pages: list[TrainPage], tile: int, batch: int, seed: int, start: int) -> None:
        self.pages, self.tile, self.batch, self.seed, self.start = pages, tile, batch, seed, start

    def __iter__(self) -> Iterator[Batch]:
        worker = torch.utils.data.get_worker_info()
        if worker is not None:
            cv2.setNumThreads(1)  # the workers already fill the cores
        sampler = TileSampler(self.pages, self.tile, seed=[self.seed, self.start, worker.id if worker else 0])
        while True:
            yield to_model_batch([sampler.sample() for _ in range(self.batch)])


def batches(stream: TileStream, workers: int) -> Iterator[Batch]:
    """The stream itself, or ``workers`` spawned processes drawing from it (spawned, not forked: a fork of a process
    holding OpenCV's and CUDA's thread pools can deadlock)."""
    if not workers:
        return iter(stream)
    loader = torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=workers, persistent_workers=True, multiprocessing_context="spawn"
    )
    return iter(loader)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch) -> dict[str, float]:
    """One SGD step on ``batch`` (see ``to_model_batch``) on the model's device; returns the four losses and total."""
    model.train()
    images, targets = batch
    device = next(model.parameters()).device
    images = [image.to(device, non_blocking=True) for image in images]
    targets = [{k: v.to(device, non_blocking=True) for k, v in target.items()} for target in targets]
    losses = model(images, targets)
    total = sum(losses.values())
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], GRAD_CLIP)
    optimizer.step()
    return {**{k: float(losses[k].detach()) for k in LOSS_COLUMNS}, "total": float(total.detach())}


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)


def learning_rate(iteration: int, iterations: int, base: float, warmup: int = 200) -> float:
    """Linear warm-up, then cosine decay to 5% of ``base``."""
    if iteration < warmup:
        return base * (0.1 + 0.9 * iteration / warmup)
    progress = (iteration - warmup) / max(1, iterations - warmup)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def new_model() -> torch.nn.Module:
    """The detector with its backbone initialised from the registry's verified MobileNetV2 ImageNet weights."""
    return build_waldo_model(backbone_weights=get_spec("mobilenet_v2").weights[0].verified_path())


def train(
    data: Path | None,
    out: Path,
    *,
    iterations: int = 3000,
    batch: int = 4,
    tile: int = 256,
    lr: float = 0.02,
    seed: int = 0,
    checkpoint_every: int = 250,
    resume: bool = False,
    progress: bool = True,
    device: str = "cpu",
    workers: int = 0,
    init: Path | None = None,
    decoys: bool = False,
    held_out: Sequence[str] = (),
) -> Path:
    """Train and write ``out`` (fp16 state dict), ``out``.train.pt (resumable state) and ``out``.losses.csv.

    ``device`` is a torch device ("cuda" trains on a GPU); ``workers`` > 0 draws tiles in that many processes.
    ``init``: start from a trained checkpoint instead of ImageNet weights (fine-tuning, continued training); with
    ``decoys``, its confident false finds on the training pages are mined first and added to the tile mix.
    """
    torch.manual_seed(seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pages = load_train_pages(Path(data), split="all" if held_out else "train") if data else []
    pages = [page for page in pages if page.name not in set(held_out)]
    model = load_waldo_weights(init) if init else new_model()
    if init and decoys and pages:
        found = mine_decoys(model, pages, progress)  # on the CPU, as the shipped model runs
        if progress:
            tqdm.write(f"{found} decoys scoring >= {DECOY_SCORE} on {len(pages)} training pages")
    model = model.to(device, memory_format=torch.channels_last)  # oneDNN convolutions run faster without reorders
    optimizer = make_optimizer(model, lr)
    state_path, log_path = out.with_suffix(".train.pt"), out.with_suffix(".losses.csv")
    start = 0
    if resume and state_path.is_file():
        state = load_state_dict(state_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["iteration"])
    stream = batches(TileStream(pages, tile, batch, seed, start), workers)
    if start:
        _truncate_log(log_path, start)
    mode = "a" if start else "w"
    with open(log_path, mode, newline="") as fh:
        writer = csv.writer(fh)
        if not start:
            writer.writerow(["iteration", "seconds", "lr", *LOSS_COLUMNS, "total"])
        bar = tqdm(range(start, iterations), initial=start, total=iterations, disable=not progress, desc="waldo train")
        for iteration in bar:
            began = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(iteration, iterations, lr)
            losses = train_step(model, optimizer, next(stream))
            seconds = time.perf_counter() - began
            writer.writerow(
                [
                    iteration + 1,
                    f"{seconds:.3f}",
                    f"{optimizer.param_groups[0]['lr']:.5f}",
                    *(f"{losses[k]:.4f}" for k in (*LOSS_COLUMNS, "total")),
                ]
            )
            fh.flush()
            bar.set_postfix(loss=f"{losses['total']:.3f}", s_it=f"{seconds:.2f}")
            if (iteration + 1) % checkpoint_every == 0 or iteration + 1 == iterations:
                _checkpoint(model, optimizer, iteration + 1, out, state_path)
    return out


def _truncate_log(log_path: Path, iteration: int) -> None:
    """Drop the log rows past the checkpoint being resumed from, so the CSV has each iteration once."""
    lines = log_path.read_text().splitlines(keepends=True) if log_path.is_file() else []
    kept = lines[:1] + [line for line in lines[1:] if int(line.split(",", 1)[0]) <= iteration]
    log_path.write_text("".join(kept))


def _checkpoint(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, iteration: int, out: Path, state_path: Path
) -> None:
    """Write the shippable fp16 weights and the resumable training state."""
    write_checkpoint(model, out)
    _atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": iteration}, state_path)


def write_checkpoint(model: torch.nn.Module, out: Path) -> None:
    """Atomically write the shippable fp16 state dict."""
    _atomic_save(state_dict_for_shipping(model), out)


def _atomic_save(payload, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)

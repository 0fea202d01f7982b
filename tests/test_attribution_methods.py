"""Every attribution method on a real photo with the real MobileNetV2: shapes, content, and where Grad-CAM looks."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from torch import nn

from core.attribution import METHODS, Settings, attribute
from core.attribution.classifier import classifier_view, query_only_scorer, resolve_class, top_predictions
from core.attribution.methods import ReLU6Hookable, attribution_copy, blackbox_occlusion
from core.models import load_model

LEAN = Settings(ig_steps=16, smoothgrad_samples=8, occlusion_window=32, occlusion_stride=32)
EGYPTIAN_CAT, ESPRESSO = 285, 967


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return load_model("mobilenet_v2").model


@pytest.fixture(scope="module")
def chelsea():
    return classifier_view(Image.fromarray(skimage.data.chelsea()))


@pytest.fixture(scope="module")
def chelsea_maps(model, chelsea):
    return {name: attribute(model, chelsea.inputs, EGYPTIAN_CAT, name, LEAN) for name in METHODS}


def _half_width_crop(photo: np.ndarray) -> np.ndarray:
    image = Image.fromarray(photo)
    image = image.resize((round(image.width * 256 / image.height), 256))
    left = (image.width - 128) // 2
    return np.asarray(image.crop((left, 0, left + 128, 256)))


def test_chelsea_is_a_cat(model, chelsea) -> None:
    assert top_predictions(model, chelsea.inputs)[0].index == EGYPTIAN_CAT
    assert chelsea.pixels.shape == (224, 224, 3) and chelsea.inputs.shape == (1, 3, 224, 224)


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_gives_an_informative_map_of_the_image_shape(chelsea_maps, name) -> None:
    result = chelsea_maps[name]
    assert result.method == name and result.target == EGYPTIAN_CAT
    assert result.map.shape == (224, 224) and result.map.dtype == np.float32
    assert np.isfinite(result.map).all()
    assert result.map.std() > 1e-3 * (np.abs(result.map).max() + 1e-12), "the map is (nearly) constant"
    assert result.seconds > 0


def test_guided_backprop_and_deconvolution_really_rewrite_the_relu6_gradients(chelsea_maps) -> None:
    saliency = chelsea_maps["saliency"].map
    for name in ("guided-backprop", "deconvolution"):
        correlation = np.corrcoef(saliency.ravel(), chelsea_maps[name].map.ravel())[0, 1]
        assert correlation < 0.9, f"{name} is (nearly) the plain gradient: its ReLU hooks did not fire"


def test_attribution_copy_keeps_the_function_and_leaves_the_model_alone(model, chelsea) -> None:
    clone = attribution_copy(model)
    assert any(isinstance(m, nn.ReLU6) for m in model.modules())
    assert not any(type(m) is nn.ReLU6 for m in clone.modules())
    assert sum(isinstance(m, ReLU6Hookable) for m in clone.modules()) == 35
    assert all(p.requires_grad for p in model.parameters())
    with torch.inference_mode():
        torch.testing.assert_close(clone(chelsea.inputs), model(chelsea.inputs))


def test_gradcam_looks_at_the_half_that_holds_the_class(model) -> None:
    """Chelsea beside an espresso: Grad-CAM for the cat lies on the cat's half, for espresso on the cup's half."""
    composite = np.concatenate(
        [_half_width_crop(skimage.data.chelsea()), _half_width_crop(skimage.data.coffee())], axis=1
    )
    view = classifier_view(Image.fromarray(composite))
    top = [p.index for p in top_predictions(model, view.inputs)]
    assert EGYPTIAN_CAT in top and ESPRESSO in top
    cat = attribute(model, view.inputs, EGYPTIAN_CAT, "gradcam").map
    espresso = attribute(model, view.inputs, ESPRESSO, "gradcam").map
    assert cat[:, :112].sum() / cat.sum() > 0.75
    assert espresso[:, 112:].sum() / espresso.sum() > 0.6


def test_gradients_flow_even_inside_a_callers_no_grad(model, chelsea, chelsea_maps) -> None:
    with torch.no_grad():
        inside = attribute(model, chelsea.inputs, EGYPTIAN_CAT, "saliency")
    np.testing.assert_allclose(inside.map, chelsea_maps["saliency"].map, rtol=1e-4, atol=1e-6)


def test_blackbox_occlusion_needs_only_queries(model, chelsea, chelsea_maps) -> None:
    queries = []
    scorer = query_only_scorer(model, EGYPTIAN_CAT)

    def remote_api(images: np.ndarray) -> np.ndarray:
        assert images.dtype == np.uint8 and images.shape[1:] == (224, 224, 3)
        queries.append(len(images))
        return scorer(images)

    result = blackbox_occlusion(remote_api, chelsea.pixels, LEAN)
    assert result.map.shape == (224, 224)
    assert sum(queries) == 1 + 7 * 7  # the unoccluded image, then one query per 32-px window
    white_box = chelsea_maps["occlusion"].map
    assert np.corrcoef(result.map.ravel(), white_box.ravel())[0, 1] > 0.8


def test_bad_requests_are_refused_with_reasons(model, chelsea) -> None:
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribute(model, chelsea.inputs, 0, "lime")
    with pytest.raises(ValueError, match="needs an nn.Module"):
        attribute(lambda x: model(x), chelsea.inputs, 0, "gradcam")
    with pytest.raises(ValueError, match=r"\(1, C, H, W\)"):
        attribute(model, chelsea.inputs[0], 0, "saliency")
    assert resolve_class("Egyptian cat") == EGYPTIAN_CAT and resolve_class("967") == ESPRESSO
    with pytest.raises(ValueError, match="matches"):
        resolve_class("cat")
    with pytest.raises(ValueError, match="outside"):
        resolve_class("1000")

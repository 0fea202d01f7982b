"""Deletion/insertion curves (RISE) on real ImageNet photos, and the model-randomisation sanity check."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from torch import nn

from core.attribution import Settings, attribute
from core.attribution.classifier import classifier_view, probabilities, top_predictions
from core.attribution.demos import imagenet_samples, open_sample
from core.attribution.faithfulness import blurred, pixel_order, random_baseline, rank_by_deletion, score_map
from core.attribution.sanity import randomized_copy, sanity_check
from core.models import load_model

SMALL_SET = slice(0, 500, 125)  # 4 photos of different classes
STEPS = 16


@pytest.fixture(scope="module")
def model() -> nn.Module:
    return load_model("mobilenet_v2").model


@pytest.fixture(scope="module")
def views(data_dir):
    return [classifier_view(open_sample(s)) for s in imagenet_samples(data_dir / "imagenet_samples")[SMALL_SET]]


def test_saliency_and_ig_delete_faster_than_a_random_order(model, views) -> None:
    aucs = {"saliency": [], "ig": [], "random": []}
    for view in views:
        target = top_predictions(model, view.inputs)[0].index
        for method in ("saliency", "ig"):
            heatmap = attribute(model, view.inputs, target, method).map
            aucs[method].append(score_map(model, view.inputs, target, heatmap, method, STEPS).deletion.auc)
        aucs["random"].append(random_baseline(model, view.inputs, target, STEPS).deletion.auc)
    means = {name: float(np.mean(values)) for name, values in aucs.items()}
    assert means["saliency"] < means["random"], means
    assert means["ig"] < means["random"], means


def test_curves_run_from_the_image_to_the_fully_changed_image(model, views) -> None:
    view = views[0]
    target = top_predictions(model, view.inputs)[0].index
    heatmap = attribute(model, view.inputs, target, "saliency").map
    result = score_map(model, view.inputs, target, heatmap, "saliency", steps=10)
    full = float(probabilities(model, view.inputs)[0, target])
    grey = float(probabilities(model, torch.zeros_like(view.inputs))[0, target])
    blur = float(probabilities(model, blurred(view.inputs))[0, target])
    np.testing.assert_allclose(result.deletion.fractions, np.linspace(0, 1, 11), atol=1e-4)
    np.testing.assert_allclose(result.deletion.probabilities[[0, -1]], [full, grey], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.insertion.probabilities[[0, -1]], [blur, full], rtol=1e-4, atol=1e-6)
    assert 0 <= result.deletion.auc <= 1 and 0 <= result.insertion.auc <= 1


def test_pixel_order_is_by_importance_with_ties_shuffled() -> None:
    heatmap = np.zeros((4, 4), dtype=np.float32)
    heatmap[0, 0], heatmap[3, 3] = 2.0, 1.0
    orders = [pixel_order(heatmap, seed) for seed in range(5)]
    assert all(order[0] == 0 and order[1] == 15 for order in orders)
    assert all(sorted(order) == list(range(16)) for order in orders)
    assert len({tuple(order[2:]) for order in orders}) > 1, "ties should not follow the scan order"


def test_ranking_puts_the_lowest_deletion_auc_first(model, views) -> None:
    view = views[1]
    target = top_predictions(model, view.inputs)[0].index
    scored = [
        score_map(model, view.inputs, target, attribute(model, view.inputs, target, m).map, m, steps=8)
        for m in ("gradcam", "saliency")
    ]
    ranked = rank_by_deletion(scored)
    assert ranked[0].deletion.auc <= ranked[1].deletion.auc


def test_randomized_copy_changes_only_the_top_layers(model) -> None:
    clone = randomized_copy(model, ("classifier", "features.18"))
    before, after = dict(model.named_parameters()), dict(clone.named_parameters())
    for name, value in before.items():
        changed = not torch.equal(value, after[name])
        assert changed == name.startswith(("classifier.", "features.18.")), name
    again = randomized_copy(model, ("classifier", "features.18"))
    assert torch.equal(again.classifier[1].weight, clone.classifier[1].weight), "the randomisation is seeded"
    with pytest.raises(ValueError, match="no such layers"):
        randomized_copy(model, ("head",))


def test_sanity_check_flags_guided_backprop_but_not_gradcam(model) -> None:
    """Adebayo et al.'s finding on a real photo: Guided Backprop barely depends on the top layers' weights."""
    view = classifier_view(Image.fromarray(skimage.data.chelsea()))
    originals = [attribute(model, view.inputs, 285, m) for m in ("guided-backprop", "gradcam")]
    results = {r.method: r for r in sanity_check(model, view.inputs, originals, Settings())}
    assert results["guided-backprop"].flagged
    assert not results["gradcam"].flagged
    assert results["gradcam"].rank_correlation < results["guided-backprop"].rank_correlation

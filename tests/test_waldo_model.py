"""The shipped detector in its two forms: as trained (to train further) and ready to search (norms folded)."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.ops.misc import FrozenBatchNorm2d

from core.images import open_image, to_array
from core.models import get_spec
from core.waldo.data import waldo_dir
from core.waldo.infer import find_waldo
from core.waldo.model import load_waldo_model, load_waldo_weights


def test_the_search_form_finds_what_the_trained_form_finds_on_a_real_page() -> None:
    path = get_spec("waldo_maskrcnn").weights[0].verified_path()
    trained, searching = load_waldo_weights(path), load_waldo_model(path)
    assert any(isinstance(m, FrozenBatchNorm2d) for m in trained.modules())
    assert not any(isinstance(m, FrozenBatchNorm2d) for m in searching.modules())
    first = searching.backbone.body["0"][0].weight
    assert first.is_contiguous(memory_format=torch.channels_last) and not first.is_contiguous()
    page = to_array(open_image(waldo_dir() / "pages" / "hiw_20.jpg", max_side=None))
    expected, found = find_waldo(trained, page), find_waldo(searching, page)
    assert len(found.detections) == len(expected.detections) >= 5
    for ours, theirs in zip(found.detections, expected.detections, strict=True):
        assert abs(ours.score - theirs.score) < 1e-4
        assert np.allclose(ours.box, theirs.box, atol=0.05)
        assert np.array_equal(ours.mask, theirs.mask) and ours.mask_origin == theirs.mask_origin

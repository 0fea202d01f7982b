"""The classifier wrapper: a layer's output, and taps that leave other threads' passes on the shared model alone."""

from __future__ import annotations

import threading

import pytest
import torch

from core.visualize import Network, network


@pytest.fixture(scope="module")
def net() -> Network:
    return network("mobilenet_v2")


def test_layer_output_is_the_full_passes_intermediate(net: Network) -> None:
    images = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), net.tap("features.6") as seen:
        logits = net.logits(images)
        stopped = net.layer(images, "features.6")
    assert logits.shape == (2, 1000)
    assert seen[0].shape == (2, 32, 12, 12)
    assert torch.equal(stopped, seen[0])
    assert net.layers[0] == "features.0" and net.layers[-1] == "features.18"


def test_a_tap_does_not_touch_another_threads_pass(net: Network) -> None:
    images = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = net.logits(images)
    results: list[torch.Tensor] = []
    with net.tap("features.3", stop=True) as seen:
        worker = threading.Thread(target=lambda: results.append(net.logits(images).detach()))
        worker.start()
        worker.join()
    assert not seen  # the other thread's pass was neither recorded nor stopped
    # a new thread may run torch with another thread count: the same logits up to float summation order
    assert torch.allclose(results[0], expected, rtol=1e-4, atol=1e-4)

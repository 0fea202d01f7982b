"""dlib's ResNet-29 face embedder (dlib_face_recognition_resnet_model_v1) as a differentiable PyTorch module.

The cloak attacks need gradients of dlib's descriptor with respect to the chip, which dlib cannot give, so this
is a port that reads dlib's own serialized ``.dat`` file directly (no dlib at run time, no pickle) and rebuilds
the network of dlib's ``dnn_face_recognition_ex.cpp``::

    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

Every ``affine`` (a frozen batch norm) is folded into the convolution before it, so the forward pass is plain
convolutions, ReLUs and pooling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# (channels, residual blocks, whether the first block halves the resolution), from input to output:
# alevel4 .. alevel0 of dnn_face_recognition_ex.cpp.
STAGES: tuple[tuple[int, int, bool], ...] = (
    (32, 3, False),
    (64, 4, True),
    (128, 3, True),
    (256, 3, True),
    (256, 1, True),
)
CHIP_SIZE = 150
DESCRIPTOR_SIZE = 128
_CONV_MODE = 0  # dlib's layer_mode enum: affine layers after convolutions scale per channel


class DlibStream:
    """Reader for the primitives of dlib's serialize.h and dnn/tensor.h, in the order they were written."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise ValueError("unexpected end of the dlib file")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def read_int(self) -> int:
        """dlib's packed integer: a control byte (low nibble = byte count, 0x80 = negative), then little-endian bytes."""
        control = self._take(1)[0]
        value = int.from_bytes(self._take(control & 0x0F), "little")
        return -value if control & 0x80 else value

    def expect_int(self, expected: int, what: str) -> None:
        value = self.read_int()
        if value != expected:
            raise ValueError(f"{what}: expected {expected}, found {value} at byte {self.pos}")

    def read_string(self) -> str:
        return self._take(self.read_int()).decode("ascii")

    def expect_string(self, expected: str) -> None:
        found = self.read_string()
        if found != expected:
            raise ValueError(f"expected dlib layer {expected!r}, found {found!r} at byte {self.pos}")

    def read_bool(self) -> bool:
        char = self._take(1)
        if char not in (b"0", b"1"):
            raise ValueError(f"bad dlib bool {char!r} at byte {self.pos}")
        return char == b"1"

    def read_float(self) -> float:
        """dlib's portable float: value = mantissa * 2**exponent, both packed integers (exponent 32000+ = inf/nan)."""
        mantissa, exponent = self.read_int(), self.read_int()
        if exponent < 32000:
            return math.ldexp(mantissa, exponent)
        return {32000: math.inf, 32001: -math.inf}.get(exponent, math.nan)

    def read_tensor(self) -> np.ndarray:
        """A dnn tensor (version 2): num_samples, k, nr, nc, then little-endian float32 values."""
        self.expect_int(2, "tensor version")
        shape = tuple(self.read_int() for _ in range(4))
        count = math.prod(shape)
        values = np.frombuffer(self._take(4 * count), dtype="<f4", count=count)
        return values.astype(np.float32).reshape(shape)

    def read_alias_tensor(self) -> tuple[int, ...]:
        self.expect_int(1, "alias_tensor version")
        return tuple(self.read_int() for _ in range(4))


@dataclass
class DlibLayer:
    """One layer's details as dlib wrote them: its serialization name, its hyperparameters and its weights."""

    name: str
    hyper: tuple[int, ...] = ()
    weights: tuple[np.ndarray, ...] = ()


def _read_con(stream: DlibStream) -> DlibLayer:
    params = stream.read_tensor().ravel()
    for _ in range(3):  # num_filters, nr, nc: repeated in the filters' shape below
        stream.read_int()
    stride_y, stride_x, pad_y, pad_x = (stream.read_int() for _ in range(4))
    filters = stream.read_alias_tensor()
    stream.read_alias_tensor()  # biases: num_filters values after the filters
    for _ in range(4):  # learning-rate and weight-decay multipliers
        stream.read_float()
    split = math.prod(filters)
    return DlibLayer(
        "con", (*filters, stride_y, stride_x, pad_y, pad_x), (params[:split].reshape(filters), params[split:])
    )


def _read_affine(stream: DlibStream) -> DlibLayer:
    params = stream.read_tensor().ravel()
    gamma = stream.read_alias_tensor()
    stream.read_alias_tensor()  # beta, right after gamma
    stream.expect_int(_CONV_MODE, "affine mode")
    split = math.prod(gamma)
    return DlibLayer("affine", (split,), (params[:split], params[split:]))


def _read_pool(name: str) -> Callable[[DlibStream], DlibLayer]:
    def read(stream: DlibStream) -> DlibLayer:
        return DlibLayer(name, tuple(stream.read_int() for _ in range(6)))  # nr, nc, stride_y, stride_x, pad_y, pad_x

    return read


def _read_fc(stream: DlibStream) -> DlibLayer:
    num_outputs, num_inputs = stream.read_int(), stream.read_int()
    params = stream.read_tensor()
    stream.read_alias_tensor()  # weights: num_inputs x num_outputs
    stream.read_alias_tensor()  # biases (empty)
    stream.expect_int(1, "fc bias mode (FC_NO_BIAS)")
    for _ in range(4):
        stream.read_float()
    return DlibLayer("fc", (num_outputs, num_inputs), (params.reshape(num_inputs, num_outputs).T.copy(),))


_LAYER_READERS = {
    "con_4": _read_con,
    "affine_": _read_affine,
    "relu_": lambda stream: DlibLayer("relu"),
    "max_pool_2": _read_pool("max_pool"),
    "avg_pool_2": _read_pool("avg_pool"),
    "add_prev_": lambda stream: DlibLayer("add_prev"),
    "fc_2": _read_fc,
}


def _read_layer(stream: DlibStream) -> DlibLayer:
    name = stream.read_string()
    if name not in _LAYER_READERS:
        raise ValueError(f"unsupported dlib layer {name!r} at byte {stream.pos}")
    return _LAYER_READERS[name](stream)


def _skip_layer_state(stream: DlibStream) -> None:
    """add_layer's bookkeeping after each layer: three flags and three (empty) gradient/output tensors."""
    for _ in range(3):
        stream.read_bool()
    for _ in range(3):
        stream.read_tensor()


def read_dlib_network(data: bytes) -> tuple[tuple[float, float, float], list[DlibLayer], list[str]]:
    """Parse a dlib ``loss_metric`` network file into (input channel means, layers input->output, wrapper kinds).

    dlib writes the loss first, then one version number per wrapper from the output toward the input
    (2 = a computational layer, 1 = a tag or skip), then the input layer, then each layer's details from the input
    toward the output. The wrapper kinds (output->input) let the caller check the graph's tags and skips.
    """
    stream = DlibStream(data)
    stream.expect_int(1, "add_loss_layer version")
    stream.expect_string("loss_metric_2")
    stream.read_float()  # margin (training only)
    stream.read_float()  # distance threshold (training only)
    wrappers = []
    while (version := stream.read_int()) != 3:  # the wrapper around the input layer has version 3
        if version not in (1, 2):
            raise ValueError(f"unexpected dlib layer wrapper version {version} at byte {stream.pos}")
        wrappers.append("layer" if version == 2 else "tag/skip")
    stream.expect_string("input_rgb_image_sized")
    means = (stream.read_float(), stream.read_float(), stream.read_float())
    stream.expect_int(CHIP_SIZE, "input rows")
    stream.expect_int(CHIP_SIZE, "input columns")
    layers = [_read_layer(stream)]
    _skip_layer_state(stream)
    stream.read_int()  # sample expansion factor
    for _ in range(wrappers.count("layer")):
        layers.append(_read_layer(stream))
        _skip_layer_state(stream)
    if stream.pos != len(data):
        raise ValueError(f"{len(data) - stream.pos} unread bytes at the end of the dlib file")
    return means, layers, wrappers


def _folded_conv(conv: DlibLayer, affine: DlibLayer) -> nn.Conv2d:
    """A Conv2d computing dlib's con followed by affine: (W*x + b) * gamma + beta."""
    out_channels, in_channels, kernel_h, kernel_w, stride_y, stride_x, pad_y, pad_x = conv.hyper
    filters, bias = (torch.from_numpy(w) for w in conv.weights)
    gamma, beta = (torch.from_numpy(w) for w in affine.weights)
    layer = nn.Conv2d(in_channels, out_channels, (kernel_h, kernel_w), (stride_y, stride_x), (pad_y, pad_x))
    layer.weight = nn.Parameter(filters * gamma[:, None, None, None])
    layer.bias = nn.Parameter(bias * gamma + beta)
    return layer


def _add_prev(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: the sum takes the larger size per dimension, the smaller input zero-filled at the end."""
    if first.shape == second.shape:
        return first + second
    size = [max(a, b) for a, b in zip(first.shape[1:], second.shape[1:], strict=True)]

    def grow(x: torch.Tensor) -> torch.Tensor:
        channels, rows, cols = x.shape[1:]
        return F.pad(x, (0, size[2] - cols, 0, size[1] - rows, 0, size[0] - channels))

    return grow(first) + grow(second)


class ResidualBlock(nn.Module):
    """dlib's ``ares`` (identity shortcut) or ``ares_down`` (stride-2 block, 2x2 average-pooled shortcut)."""

    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, downsample: bool) -> None:
        super().__init__()
        self.conv1, self.conv2, self.downsample = conv1, conv2, downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv2(F.relu(self.conv1(x)))
        shortcut = F.avg_pool2d(x, 2, 2) if self.downsample else x
        return F.relu(_add_prev(residual, shortcut))


class DlibResNet(nn.Module):
    """(N,3,150,150) RGB chips in 0..255 -> (N,128) dlib face descriptors; differentiable in the input."""

    def __init__(self, means: tuple[float, float, float], stem: nn.Conv2d, blocks: list[ResidualBlock], fc: nn.Linear):
        super().__init__()
        self.register_buffer("means", torch.tensor(means, dtype=torch.float32).view(1, 3, 1, 1))
        self.stem, self.blocks, self.fc = stem, nn.Sequential(*blocks), fc

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        if chips.dim() != 4 or tuple(chips.shape[1:]) != (3, CHIP_SIZE, CHIP_SIZE):
            raise ValueError(
                f"expected (N, 3, {CHIP_SIZE}, {CHIP_SIZE}) dlib chips in 0..255, got {tuple(chips.shape)}"
            )
        x = (chips - self.means) / 256.0
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))


def _expected_layers() -> list[tuple[str, tuple[int, ...]]]:
    """dlib's layer names and shapes (input->output) for STAGES; tags/skips are listed as "tag/skip"."""
    layers = [("con", (32, 3, 7, 7, 2, 2, 0, 0)), ("affine", (32,)), ("relu", ()), ("max_pool", (3, 3, 2, 2, 0, 0))]
    in_channels = 32
    for channels, count, downsample in STAGES:
        for index in range(count):
            stride = 2 if downsample and index == 0 else 1
            pad = 0 if stride == 2 else 1
            layers += [("tag/skip", ()), ("con", (channels, in_channels, 3, 3, stride, stride, pad, pad))]
            layers += [("affine", (channels,)), ("relu", ()), ("con", (channels, channels, 3, 3, 1, 1, 1, 1))]
            layers += [("affine", (channels,))]
            if stride == 2:
                layers += [("tag/skip", ()), ("tag/skip", ()), ("avg_pool", (2, 2, 2, 2, 0, 0))]
            layers += [("add_prev", ()), ("relu", ())]
            in_channels = channels
    return layers + [("avg_pool", (0, 0, 1, 1, 0, 0)), ("fc", (DESCRIPTOR_SIZE, in_channels))]


def _check_structure(layers: list[DlibLayer], wrappers: list[str]) -> None:
    """The file must hold exactly the graph of dnn_face_recognition_ex.cpp, shapes and strides included."""
    expected = _expected_layers()
    found = [(layer.name, layer.hyper) for layer in layers]
    if found != [entry for entry in expected if entry[0] != "tag/skip"]:
        raise ValueError("the dlib file is not dlib_face_recognition_resnet_model_v1 (its layers differ)")
    expected_wrappers = ["tag/skip" if name == "tag/skip" else "layer" for name, _ in reversed(expected[1:])]
    if wrappers != expected_wrappers:
        raise ValueError("the dlib file's tag/skip layout differs from dlib_face_recognition_resnet_model_v1")


def build_dlib_resnet(data: bytes) -> DlibResNet:
    """The PyTorch network for the bytes of dlib_face_recognition_resnet_model_v1.dat."""
    means, layers, wrappers = read_dlib_network(data)
    _check_structure(layers, wrappers)
    weighted: Iterator[DlibLayer] = iter(layer for layer in layers if layer.name in ("con", "affine", "fc"))
    stem = _folded_conv(next(weighted), next(weighted))
    blocks = []
    for _, count, downsample in STAGES:
        for index in range(count):
            conv1 = _folded_conv(next(weighted), next(weighted))
            conv2 = _folded_conv(next(weighted), next(weighted))
            blocks.append(ResidualBlock(conv1, conv2, downsample and index == 0))
    fc_layer = next(weighted)
    fc = nn.Linear(fc_layer.hyper[1], fc_layer.hyper[0], bias=False)
    fc.weight = nn.Parameter(torch.from_numpy(fc_layer.weights[0]))
    # channels-last weights make CPU convolutions about 30% faster, whatever the input's memory format
    model = DlibResNet(means, stem, blocks, fc).to(memory_format=torch.channels_last)
    model.requires_grad_(False)
    return model.eval()


def load_dlib_resnet(path: Path) -> DlibResNet:
    """Registry builder for "dlib_resnet29": the verified .dat file -> frozen, eval-mode DlibResNet."""
    return build_dlib_resnet(Path(path).read_bytes())

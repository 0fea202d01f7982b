"""The TF.js graph executor against TF.js itself (its pure-JS CPU backend, run in node) and against hand computation.

Tolerances, as the largest difference over the node's largest value. Unfused, the executor does TF.js's float32
operations in TF.js's order except for the summation order inside convolutions and matrix products: a few float32
ulps (1.2e-7) compounding over 14-28 layers, measured at most 2.6e-7 (many nodes match bit for bit), so 2e-6.
Fused, each folded weight w * s is rounded once more, and that error is relative to the pre-activation terms,
which batch-norm shifts can make far larger than the clipped activations they cancel down to: measured at most
5.7e-6 (hse_faceres conv_dw_4), so 3e-5. A real mistake (a padding off by one pixel, a transposed kernel, a wrong
colour axis) shows up as 1e-2 or more.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.models import get_spec, load_model, recognizer_facts
from core.models.tfjs import TfjsGraph, TfjsGraphModel, read_model

REFERENCE_SCRIPT = Path(__file__).with_name("tfjs_reference.js")
REFERENCE_MODULES = Path(sys.prefix) / "tfjs-reference" / "node_modules"  # scripts/install_tfjs_reference.sh
TOLERANCE = {"unfused": 2e-6, "fused": 3e-5}
PHOTOS = ("Colin_Powell/Colin_Powell_0001.jpg", "Hugo_Chavez/Hugo_Chavez_0001.jpg")


def tfjs_reference(
    model_json: Path, inputs_nhwc: np.ndarray, nodes: list[str], tmp_path: Path
) -> dict[str, np.ndarray]:
    """``nodes`` of the graph in ``model_json`` for ``inputs_nhwc``, computed by TF.js's CPU backend in node."""
    node = shutil.which("node")
    assert node is not None, "node is needed for the TF.js reference (apt install nodejs, then scripts/setup.sh --dev)"
    assert (REFERENCE_MODULES / "@tensorflow" / "tfjs-converter").is_dir(), (
        f"TF.js is not installed in {REFERENCE_MODULES}: run scripts/setup.sh --dev (needs npm)"
    )
    work = tmp_path / "tfjs"
    work.mkdir()
    (work / "input.f32").write_bytes(np.ascontiguousarray(inputs_nhwc, dtype="<f4").tobytes())
    shape = ",".join(map(str, inputs_nhwc.shape))
    run = subprocess.run(
        [node, str(REFERENCE_SCRIPT), str(model_json), str(work / "input.f32"), shape, str(work), *nodes],
        capture_output=True,
        text=True,
        env={"NODE_PATH": str(REFERENCE_MODULES), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    meta = json.loads((work / "shapes.json").read_text())
    assert meta["backend"] == "cpu"
    return {
        name: np.fromfile(work / f"{i}.f32", dtype="<f4").reshape(shape)
        for i, (name, shape) in enumerate(zip(nodes, meta["shapes"], strict=True))
    }


def relative_error(ours: torch.Tensor, reference: np.ndarray) -> float:
    """Largest absolute difference over the largest reference magnitude."""
    assert tuple(ours.shape) == reference.shape
    return float(np.abs(ours.detach().numpy() - reference).max() / max(np.abs(reference).max(), 1e-30))


def face_inputs(data_dir: Path, recognizer: str) -> torch.Tensor:
    """A deterministic batch: two real face photos (resized, no detection needed) and uniform noise, as chips in
    0..255, through the recognizer's input transform."""
    size = recognizer_facts(recognizer).chip_size
    photos = [
        np.asarray(Image.open(data_dir / "faces" / p).convert("RGB").resize((size, size)), dtype=np.float32)
        for p in PHOTOS
    ]
    noise = np.random.default_rng(0).uniform(0, 255, (size, size, 3)).astype(np.float32)
    chips = torch.from_numpy(np.stack([*photos, noise])).permute(0, 3, 1, 2)
    return recognizer_facts(recognizer).network_input(chips)


# Nodes checked besides the output: every stride-2 'SAME' convolution (TF pads the odd pixel at the bottom/right),
# the feature node, the age/gender heads; for MobileFace the explicit Pad + 'VALID' stride-2 convolutions and PReLUs.
CHECKED_NODES = {
    "hse_faceres": [
        "conv1_relu/clip_by_value",
        "conv_dw_2_relu/clip_by_value",
        "conv_dw_4_relu/clip_by_value",
        "conv_pw_7_relu/clip_by_value",
        "conv_dw_12_relu/clip_by_value",
        "age_pred/Softmax",
        "gender_pred/Sigmoid",
    ],
    "mobileface": ["add", "add_1", "add_4", "add_8", "add_12", "add_16"],
}


@pytest.mark.parametrize("recognizer", ["hse_faceres", "mobileface"])
def test_executor_matches_tfjs_on_the_real_graphs(recognizer, data_dir, tmp_path):
    spec = get_spec(recognizer)
    model_json, weights_bin = (w.verified_path() for w in spec.weights)
    fused = load_model(recognizer).model
    nodes = [fused.output, spec.meta["feature_node"], *CHECKED_NODES[recognizer]]
    inputs = face_inputs(data_dir, recognizer)
    reference = tfjs_reference(model_json, inputs.permute(0, 2, 3, 1).numpy(), nodes, tmp_path)
    unfused = TfjsGraphModel(read_model(model_json, [weights_bin]), fused.output, fuse=False)
    with torch.inference_mode():
        ours = {"fused": fused.run(inputs, nodes), "unfused": unfused.run(inputs, nodes)}
    for kind, values in ours.items():
        errors = {n: relative_error(values[n], reference[n]) for n in nodes}
        assert max(errors.values()) < TOLERANCE[kind], (kind, errors)
    assert len(fused.steps) < len(unfused.steps) / 2  # the fusions took place
    # the descriptors themselves, as recognition uses them: cosine to TF.js's
    ours_out, theirs = ours["fused"][fused.output].double().numpy(), reference[fused.output].astype(np.float64)
    cosine = (ours_out * theirs).sum(1) / np.linalg.norm(ours_out, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() > 1 - 1e-9


def _attr_list(**values: list[int]) -> dict:
    return {key: {"list": {"i": [str(v) for v in value]}} for key, value in values.items()}


def _attr_string(**values: str) -> dict:
    return {key: {"s": base64.b64encode(value.encode()).decode()} for key, value in values.items()}


def _conv(name: str, source: str, kernel: str, op: str = "Conv2D", stride: int = 1, padding: str = "SAME", **extra):
    attr = _attr_list(strides=[1, stride, stride, 1], dilations=extra.pop("dilations", [1, 1, 1, 1]))
    attr |= _attr_string(padding=padding, data_format="NHWC")
    if "explicit" in extra:
        attr |= _attr_list(explicit_paddings=extra.pop("explicit"))
    return {"name": name, "op": op, "input": [source, kernel], "attr": attr}


def _node(name: str, op: str, *inputs: str, **attr) -> dict:
    return {"name": name, "op": op, "input": list(inputs), "attr": attr}


def write_synthetic_model(folder: Path) -> Path:
    """A small graph using every op and padding mode the executor supports, with uint8- and float16-quantised
    weights, written as a TF.js model.json + .bin."""
    rng = np.random.default_rng(1)
    weights: list[tuple[str, np.ndarray, str | None]] = [
        ("k1", rng.normal(0, 0.5, (3, 3, 3, 4)), "uint8"),
        ("bias1", rng.normal(0, 0.5, (4,)), None),
        ("scale1", rng.uniform(0.5, 2.0, (4,)), "float16"),
        ("six", np.array(1.5), None),
        ("zero", np.array(0.0), None),
        ("dk", rng.normal(0, 0.5, (3, 3, 4, 2)), None),
        ("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]]), "int32"),
        ("k2", rng.normal(0, 0.5, (3, 3, 8, 5)), "float16"),
        ("gamma", rng.uniform(0.05, 0.5, (5,)), None),
        ("mean5", rng.normal(0, 0.5, (5,)), None),
        ("axes", np.array([1, 2]), "int32"),
        ("shape", np.array([-1, 20]), "int32"),
        ("w_fc", rng.normal(0, 0.3, (20, 6)), None),
        ("b_fc", rng.normal(0, 0.3, (6,)), None),
        ("w_fc2", rng.normal(0, 0.3, (5, 3)), None),
        ("k3", rng.normal(0, 0.5, (2, 2, 3, 2)), None),
        ("k4", rng.normal(0, 0.5, (3, 3, 3, 2)), None),
    ]
    nodes = [{"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": [{"size": "-1"}] * 4}}}}]
    nodes += [{"name": name, "op": "Const", "attr": {}} for name, *_ in weights]
    nodes += [
        _conv("c1", "x", "k1", stride=2),  # 7x6 -> 4x3: pads 1/1 rows, 0/1 columns
        _node("b1", "Add", "c1", "bias1"),
        _node("m1", "Mul", "scale1", "b1"),
        _node("r1", "Relu", "m1"),
        _node("mn", "Minimum", "r1", "six"),
        _node("mx", "Maximum", "mn", "zero"),
        _conv("d1", "mx", "dk", op="DepthwiseConv2dNative", stride=2),  # 4x3 -> 2x2: 0/1 rows, 1/1 columns
        _node("p1", "Pad", "d1", "pads"),
        _conv("c2", "p1", "k2", padding="VALID"),
        _node("pmax", "Maximum", "zero", "c2"),
        _node("pmin", "Minimum", "zero", "c2"),
        _node("pmul", "Mul", "gamma", "pmin"),
        _node("prelu", "AddV2", "pmax", "pmul"),
        _node("centred", "Sub", "prelu", "mean5"),
        _node("pooled", "Mean", "centred", "axes", keep_dims={"b": False}),
        _node("flat", "Reshape", "centred", "shape"),  # NHWC flattening order
        {
            "name": "fc",
            "op": "_FusedMatMul",
            "input": ["flat", "w_fc", "b_fc"],
            "attr": {
                "fused_ops": {"list": {"s": [base64.b64encode(b).decode() for b in (b"BiasAdd", b"Relu")]}},
                "num_args": {"i": "1"},
            },
        },
        _node("fc2", "MatMul", "pooled", "w_fc2"),
        _node("probabilities", "Softmax", "fc2"),
        _node("gate", "Sigmoid", "fc"),
        _conv("c3", "x", "k3", padding="EXPLICIT", explicit=[0, 0, 1, 2, 2, 0, 0, 0]),
        _conv("c4", "x", "k4", dilations=[1, 2, 2, 1]),  # dilated 'SAME'
    ]
    manifest, blobs = [], []
    for name, values, quantization in weights:
        entry = {"name": name, "shape": list(values.shape), "dtype": "int32" if quantization == "int32" else "float32"}
        if quantization == "int32":
            blobs.append(values.astype("<i4").tobytes())
        elif quantization == "uint8":
            low, scale = float(values.min()), float(values.max() - values.min()) / 255
            entry["quantization"] = {"dtype": "uint8", "scale": scale, "min": low, "original_dtype": "float32"}
            blobs.append(np.round((values - low) / scale).astype(np.uint8).tobytes())
        elif quantization == "float16":
            entry["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            blobs.append(values.astype("<f2").tobytes())
        else:
            blobs.append(values.astype("<f4").tobytes())
        manifest.append(entry)
    (folder / "synthetic.bin").write_bytes(b"".join(blobs))
    model = {
        "format": "graph-model",
        "generatedBy": "tests/test_tfjs.py",
        "convertedBy": "tests/test_tfjs.py",
        "modelTopology": {"node": nodes, "library": {}, "versions": {}},
        "weightsManifest": [{"paths": ["synthetic.bin"], "weights": manifest}],
    }
    path = folder / "synthetic.json"
    path.write_text(json.dumps(model))
    return path


SYNTHETIC_NODES = ["c1", "mx", "d1", "c2", "prelu", "centred", "pooled", "flat", "fc", "probabilities", "gate"]
SYNTHETIC_NODES += ["c3", "c4"]


@pytest.fixture
def synthetic(tmp_path) -> tuple[Path, TfjsGraph, np.ndarray]:
    model_json = write_synthetic_model(tmp_path)
    inputs = np.random.default_rng(2).normal(0, 1, (2, 7, 6, 3)).astype(np.float32)
    return model_json, read_model(model_json), inputs


def test_every_op_and_padding_mode_matches_tfjs(synthetic, tmp_path):
    model_json, graph, inputs = synthetic
    reference = tfjs_reference(model_json, inputs, SYNTHETIC_NODES, tmp_path)
    x = torch.from_numpy(inputs).permute(0, 3, 1, 2)
    unfused = TfjsGraphModel(graph, "gate", fuse=False)
    errors = {n: relative_error(v, reference[n]) for n, v in unfused.run(x, SYNTHETIC_NODES).items()}
    assert max(errors.values()) < TOLERANCE["unfused"], errors
    fused = TfjsGraphModel(graph, "gate")
    survivors = [n for n in SYNTHETIC_NODES if n in fused.node_names]
    assert {"c1", "b1", "r1", "mn", "p1", "pmax", "pmin", "pmul"}.isdisjoint(fused.node_names)  # fused away
    errors = {n: relative_error(v, reference[n]) for n, v in fused.run(x, survivors).items()}
    assert max(errors.values()) < TOLERANCE["fused"], errors
    with pytest.raises(KeyError, match="fuse=False"):
        fused.run(x, ["c1"])


def _conv_by_hand(x: np.ndarray, kernel: np.ndarray, stride: int, pads: tuple[int, int, int, int]) -> np.ndarray:
    """NHWC convolution with explicit (top, bottom, left, right) zero padding, by the definition."""
    top, bottom, left, right = pads
    padded = np.pad(x.astype(np.float64), ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw = kernel.shape[:2]
    rows = (padded.shape[1] - kh) // stride + 1
    cols = (padded.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[3]))
    for i in range(rows):
        for j in range(cols):
            patch = padded[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            out[:, i, j] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out


def test_same_padding_on_stride_2_pads_the_odd_pixel_at_the_bottom_right(synthetic):
    _, graph, inputs = synthetic
    model = TfjsGraphModel(graph, "gate", fuse=False)
    c1 = model.run(torch.from_numpy(inputs).permute(0, 3, 1, 2), ["c1"])["c1"].numpy()
    # 7 rows, 3x3 kernel, stride 2: 4 rows out need 2 rows of padding, one each side; 6 columns -> 3 need 1: after
    expected = _conv_by_hand(inputs, graph.weights["k1"], 2, (1, 1, 0, 1))
    np.testing.assert_allclose(c1, expected, rtol=0, atol=1e-5)
    shifted = _conv_by_hand(inputs, graph.weights["k1"], 2, (1, 1, 1, 0))  # PyTorch-style (before) would differ
    assert np.abs(c1 - shifted).max() > 0.1


def test_dequantisation_follows_the_manifest(synthetic):
    _, graph, _ = synthetic
    k1 = graph.weights["k1"]  # uint8: q * scale + min, at most half a step from the original
    assert k1.dtype == np.float32 and len(np.unique(k1)) <= 256
    rng = np.random.default_rng(1)
    original = rng.normal(0, 0.5, (3, 3, 3, 4))
    assert np.abs(k1 - original).max() <= (original.max() - original.min()) / 255 / 2 + 1e-6
    assert graph.weights["pads"].dtype == np.int32


def test_gradients_are_exact_and_deepcopy_is_independent(synthetic):
    _, graph, inputs = synthetic
    model = TfjsGraphModel(graph, "gate").double()
    x = torch.from_numpy(inputs).permute(0, 3, 1, 2).double().requires_grad_(True)
    outputs = ["gate", "probabilities", "c3", "c4"]
    assert torch.autograd.gradcheck(lambda t: tuple(model.run(t, outputs).values()), (x,))
    clone = copy.deepcopy(model)
    for parameter in clone.parameters():
        parameter.data.zero_()
    assert model(x).abs().sum() > 0 and not any(p.requires_grad for p in model.parameters())

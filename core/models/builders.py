"""Builders for the models whose architecture comes from an installed library (torchvision, facenet-pytorch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision

from core.models import load_state_dict


def mobilenet_v2(weights_path: Path) -> torch.nn.Module:
    """torchvision's MobileNetV2 with the IMAGENET1K_V1 state dict (built with weights=None: no download)."""
    model = torchvision.models.mobilenet_v2(weights=None)
    model.load_state_dict(load_state_dict(weights_path))
    return model


def imagenet_transforms() -> torch.nn.Module:
    """The preprocessing that MobileNet_V2_Weights.IMAGENET1K_V1 documents (resize 232, crop 224, normalise)."""
    return torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.transforms()


def imagenet_categories() -> list[str]:
    """The 1000 class names, from torchvision's weight meta (shipped in the wheel, no download)."""
    return list(torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"])


class MTCNNDetector(torch.nn.Module):
    """facenet-pytorch's three MTCNN stages with our verified weights; ``detect`` returns plain float arrays.

    facenet-pytorch's own ``MTCNN`` class loads its files itself and, under numpy 2, returns object arrays;
    this wrapper calls its ``detect_face`` directly instead.
    """

    def __init__(self, pnet: torch.nn.Module, rnet: torch.nn.Module, onet: torch.nn.Module) -> None:
        super().__init__()
        self.pnet, self.rnet, self.onet = pnet, rnet, onet
        self.min_face_size = 20
        self.thresholds = [0.6, 0.7, 0.7]
        self.factor = 0.709

    @torch.inference_mode()
    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N,4 x0,y0,x1,y1), probabilities (N,) and landmarks (N,5,2) for an HxWx3 uint8 RGB array,
        sorted by probability. Landmarks: left eye, right eye, nose, mouth left, mouth right (image left/right)."""
        from facenet_pytorch.models.utils.detect_face import detect_face

        boxes, points = detect_face(
            image[None], self.min_face_size, self.pnet, self.rnet, self.onet, self.thresholds, self.factor, "cpu"
        )
        boxes = np.asarray(boxes[0], dtype=np.float64).reshape(-1, 5)
        points = np.asarray(points[0], dtype=np.float64).reshape(-1, 5, 2)
        order = np.argsort(-boxes[:, 4], kind="stable")
        return boxes[order, :4], boxes[order, 4], points[order]


def mtcnn(pnet_path: Path, rnet_path: Path, onet_path: Path) -> torch.nn.Module:
    """MTCNN with its three nets loaded from the verified files shipped in facenet-pytorch's wheel."""
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    nets = []
    for cls, path in ((PNet, pnet_path), (RNet, rnet_path), (ONet, onet_path)):
        net = cls(pretrained=False)
        net.load_state_dict(load_state_dict(path))
        nets.append(net)
    return MTCNNDetector(*nets)


def facenet(weights_path: Path) -> torch.nn.Module:
    """facenet-pytorch's InceptionResnetV1 (embedding head only) with a user-supplied state dict."""
    from facenet_pytorch.models.inception_resnet_v1 import InceptionResnetV1

    model = InceptionResnetV1(pretrained=None, classify=False)
    state = {k: v for k, v in load_state_dict(weights_path).items() if not k.startswith("logits.")}
    model.load_state_dict(state)
    return model


def hse_faceres(model_json: Path, weights_bin: Path) -> torch.nn.Module:
    """HSE FaceRec's MobileNet from its TF.js graph; the descriptor is the 1024-d global average pool (HSE's own
    facial_analysis.py takes the same node). ``run`` also reaches the age_pred/Softmax and gender_pred/Sigmoid heads."""
    from core.models.tfjs import TfjsGraphModel, read_model

    return TfjsGraphModel(read_model(model_json, [weights_bin]), "global_pooling/Mean")


def mobileface(model_json: Path, weights_bin: Path) -> torch.nn.Module:
    """MobileFace's TF.js graph; the 256-d embedding is its final batch norm."""
    from core.models.tfjs import TfjsGraphModel, read_model

    return TfjsGraphModel(read_model(model_json, [weights_bin]), "batchnorm0/add_1")

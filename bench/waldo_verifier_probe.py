"""Probe: would a second-stage verifier re-rank the detector's candidates better? Measured by nested cross-validation.

Input: the JSON of `python -m core waldo eval ... --folds 5 --fold-weights DIR --json` (every page's top-10 finds,
each from the fold model that never trained on that page). Each candidate's crop (its box grown by 25 % a side,
64x128 px) becomes frozen ImageNet MobileNetV2 features plus its share of red and of white pixels; for each fold a
logistic regression (inputs: those features and the detector's logit) is fitted on the candidates of the other
folds (true Waldos and the decoys the detectors fell for) and re-scores that fold's candidates. Printed: pooled
top-1 and AP50 by the detector's scores and by the verifier's, per regularisation strength C.

    .venv/bin/python bench/waldo_verifier_probe.py CV.json
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.config import data_root  # noqa: E402
from core.images import open_image, to_array
from core.models import load_model
from core.waldo.eval import average_precision, is_hit
from core.waldo.infer import Detection

torch.set_num_threads(1)
cv = json.loads(Path(sys.argv[1]).read_text())
net = load_model("mobilenet_v2").model.eval()
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
fold_of = {f: pf["fold"] for pf in cv["per_fold"] for f in pf["files"]}
rows = []
for page in cv["pooled"]["per_page"]:
    img = to_array(open_image(data_root() / "waldo" / "pages" / page["file"], max_side=None))
    H, W = img.shape[:2]
    crops = []
    for d in page["finds"]:
        x0, y0, x1, y1 = d["box"]
        w, h = x1 - x0, y1 - y0
        m = 0.25
        cx0, cy0, cx1, cy1 = (
            int(max(0, x0 - m * w)),
            int(max(0, y0 - m * h)),
            int(min(W, x1 + m * w)) + 1,
            int(min(H, y1 + m * h)) + 1,
        )
        crop = cv2.resize(img[cy0:cy1, cx0:cx1], (64, 128), interpolation=cv2.INTER_AREA)
        crops.append(crop)
        rows.append(
            dict(
                file=page["file"],
                fold=fold_of[page["file"]],
                score=d["score"],
                box=d["box"],
                hit=any(is_hit(d["box"], t) for t in page["boxes"]),
            )
        )
    if crops:
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
        with torch.no_grad():
            f = net.features((x - mean) / std).mean((2, 3)).numpy()
        for i, feat in enumerate(f):
            hsv = cv2.cvtColor(crops[i], cv2.COLOR_RGB2HSV).reshape(-1, 3)
            red = ((hsv[:, 0] < 10) | (hsv[:, 0] > 170)) & (hsv[:, 1] > 100)
            white = (hsv[:, 1] < 40) & (hsv[:, 2] > 180)
            rows[len(rows) - len(crops) + i]["feat"] = np.concatenate([feat, [red.mean(), white.mean()]])
X = np.stack([r["feat"] for r in rows])
y = np.array([r["hit"] for r in rows])
s = np.array([r["score"] for r in rows])
folds = np.array([r["fold"] for r in rows])
logit = np.log(np.clip(s, 1e-4, 1 - 1e-4) / (1 - np.clip(s, 1e-4, 1 - 1e-4)))
combined = np.zeros(len(rows))
for C in (0.01, 0.1, 1.0):
    for k in np.unique(folds):
        tr, te = folds != k, folds == k
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=2000))
        clf.fit(np.column_stack([X[tr], logit[tr]]), y[tr])
        combined[te] = clf.predict_proba(np.column_stack([X[te], logit[te]]))[:, 1]

    # per page: top-1 and AP50 by combined score
    def figures(scores):
        pages = {}
        for r, sc in zip(rows, scores, strict=True):
            pages.setdefault(r["file"], []).append((sc, r))
        top1 = []
        ap_in = []
        for p in cv["pooled"]["per_page"]:
            cand = sorted(pages.get(p["file"], []), key=lambda t: -t[0])
            top1.append(bool(cand) and cand[0][1]["hit"])
            dets = [Detection(tuple(c[1]["box"]), float(c[0]), np.ones((1, 1), bool), (0, 0)) for c in cand]
            ap_in.append((dets, np.array(p["boxes"], float).reshape(-1, 4), [True] * len(p["boxes"])))
        return np.mean(top1), average_precision(ap_in)

    print("C", C, "detector", figures(s), "verified", figures(combined), "candidates", len(rows), "hits", y.sum())

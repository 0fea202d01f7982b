"""Procedural Where's-Waldo-like pages with exact ground truth, cheap enough to make on every training step.

A page is scenery (ground patches, buildings, trees, striped awnings and towels) under hundreds of small cartoon
people drawn back to front, plus zero or one Waldo: red-and-white striped shirt and bobble hat, round glasses,
blue trousers. Decoys are what makes the task hard: people in stripes of other colours, people in red-and-white
stripes without hat, glasses or blue trousers, and red-and-white striped objects.

Everything is drawn with aliased OpenCV primitives into per-figure sprites, and every pixel's owner is kept in an
instance map, so Waldo's mask is exactly the pixels of him that stay visible. Waldo and the rest of the page use
separate random streams: the same seed with ``waldo=False`` draws the identical page without him.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SKIN = [(255, 220, 185), (241, 194, 160), (224, 172, 128), (198, 134, 90), (141, 85, 56), (95, 60, 40)]
HAIR = [(30, 25, 20), (80, 50, 25), (130, 80, 40), (200, 160, 80), (230, 210, 150), (160, 40, 20), (120, 120, 120)]
WALDO_RED, WALDO_WHITE, WALDO_BLUE = (214, 32, 40), (248, 248, 244), (40, 80, 190)
GROUND = [(190, 210, 140), (225, 205, 150), (170, 200, 225), (200, 200, 195), (160, 190, 110), (235, 225, 200)]
STRIPE_DECOY_PAIRS = [
    ((40, 80, 200), (248, 248, 244)),
    ((214, 32, 40), (250, 220, 40)),
    ((30, 140, 60), (248, 248, 244)),
    ((20, 20, 20), (248, 248, 244)),
    ((230, 120, 30), (248, 248, 244)),
    ((214, 32, 40), (248, 248, 244)),  # Waldo's colours on someone who is not Waldo
]
WALDO_ID = 1


@dataclass
class SynthPage:
    """A generated page: the image, Waldo's exact visible mask and box (None when he is absent)."""

    image: np.ndarray  # HxWx3 uint8
    waldo_mask: np.ndarray | None  # HxW bool
    waldo_box: tuple[int, int, int, int] | None  # x0, y0, x1, y1 (exclusive), tight around the mask
    seed: int

    @property
    def boxes(self) -> np.ndarray:
        return np.asarray([self.waldo_box] if self.waldo_box else [], dtype=np.float32).reshape(-1, 4)


class _Sprite:
    """A small RGB canvas plus the mask of what was painted on it (aliased drawing, so the mask is exact)."""

    def __init__(self, height: int, width: int) -> None:
        self.rgb = np.zeros((height, width, 3), np.uint8)
        self.mask = np.zeros((height, width), np.uint8)

    def draw(self, primitive, *args, color, **kwargs) -> None:
        primitive(self.rgb, *args, color=tuple(int(c) for c in color), lineType=cv2.LINE_8, **kwargs)
        primitive(self.mask, *args, color=1, lineType=cv2.LINE_8, **kwargs)

    def stripes(self, region: np.ndarray, color, period: int, y0: int) -> None:
        rows = ((np.arange(self.rgb.shape[0]) - y0) // max(1, period)) % 2 == 1
        self.rgb[region & rows[:, None]] = color


def _jitter(rng: np.random.Generator, color, amount: int = 18) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.clip(np.asarray(color) + rng.integers(-amount, amount + 1, 3), 0, 255))


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(60, 256), rng.integers(60, 256)]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _person(rng: np.random.Generator, height: int, *, waldo: bool = False, decoy: int = -1) -> _Sprite:
    """One figure. ``waldo`` gives the full outfit; ``decoy`` >= 0 picks a striped look-alike from STRIPE_DECOY_PAIRS."""
    h = max(12, height)
    w = int(h * 0.75) + 4
    sprite = _Sprite(h, w)
    cx = w // 2
    r = max(2, int(h * 0.085))
    head_y = int(h * 0.14) + r // 2
    shoulder_y, hip_y = head_y + r + 1, int(h * 0.58)
    torso_half = max(2, int(h * 0.15))
    limb = max(2, int(h * 0.075))
    skin = SKIN[rng.integers(len(SKIN))] if not waldo else SKIN[rng.integers(0, 2)]
    if waldo:
        shirt, stripe, trousers = (
            _jitter(rng, WALDO_RED, 10),
            _jitter(rng, WALDO_WHITE, 6),
            _jitter(rng, WALDO_BLUE, 14),
        )
    elif decoy >= 0:
        shirt, stripe = (_jitter(rng, c, 10) for c in STRIPE_DECOY_PAIRS[decoy])
        trousers = _random_colour(rng) if decoy == len(STRIPE_DECOY_PAIRS) - 1 else _jitter(rng, WALDO_BLUE, 40)
    else:
        shirt, stripe, trousers = _random_colour(rng), None, _random_colour(rng)
        if rng.random() < 0.25:
            stripe = _random_colour(rng)
    # legs and shoes
    spread = rng.uniform(0.0, 0.18) * h
    for side in (-1, 1):
        foot = (int(cx + side * (torso_half * 0.5 + spread * 0.5)), h - 2)
        sprite.draw(cv2.line, (int(cx + side * torso_half * 0.45), hip_y), foot, color=trousers, thickness=limb)
        sprite.draw(cv2.ellipse, foot, (limb, max(1, limb // 2)), 0, 0, 360, color=(40, 30, 25), thickness=-1)
    # shirt: torso and arms share one region so stripes run across both
    before = sprite.mask.copy()
    sprite.draw(cv2.rectangle, (cx - torso_half, shoulder_y), (cx + torso_half, hip_y), color=shirt, thickness=-1)
    hands = []
    for side in (-1, 1):
        angle = rng.uniform(-0.9, 1.3) if not waldo else rng.uniform(-0.3, 0.9)
        start = (cx + side * torso_half, shoulder_y + limb // 2)
        length = h * 0.27
        hand = (
            int(start[0] + side * np.sin(angle) * length),
            int(start[1] + np.cos(angle) * length * (1 if angle < 1.2 else -0.6)),
        )
        sprite.draw(cv2.line, start, hand, color=shirt, thickness=limb)
        hands.append(hand)
    if stripe is not None:
        shirt_region = (sprite.mask == 1) & (before == 0) | (sprite.mask == 1) & (sprite.rgb == shirt).all(-1)
        sprite.stripes(shirt_region, stripe, max(1, int(round(h * 0.045))), shoulder_y)
    for hand in hands:
        sprite.draw(cv2.circle, hand, max(1, limb // 2 + 1), color=skin, thickness=-1)
    # head, hair, hat, glasses
    sprite.draw(cv2.circle, (cx, head_y), r, color=skin, thickness=-1)
    hair = HAIR[rng.integers(len(HAIR))] if not waldo else _jitter(rng, (80, 50, 25), 10)
    sprite.draw(cv2.ellipse, (cx, head_y), (r, max(1, int(r * 0.8))), 0, 180, 360, color=hair, thickness=-1)
    if waldo or (decoy >= 0 and rng.random() < 0.5):
        hat_top = max(1, head_y - int(r * 1.9))
        sprite.draw(cv2.ellipse, (cx, head_y - r // 3), (r, int(r * 1.3)), 0, 180, 360, color=shirt, thickness=-1)
        band = np.zeros_like(sprite.mask, bool)
        band[hat_top : head_y - r // 3, cx - r : cx + r + 1] = True
        sprite.stripes(band & (sprite.rgb == shirt).all(-1), stripe or WALDO_WHITE, max(1, r // 2), hat_top)
        sprite.draw(cv2.circle, (cx, hat_top), max(1, r // 2), color=stripe or WALDO_WHITE, thickness=-1)
    elif rng.random() < 0.3:
        sprite.draw(
            cv2.ellipse,
            (cx, head_y - r // 2),
            (int(r * 1.3), max(1, r // 2)),
            0,
            180,
            360,
            color=_random_colour(rng),
            thickness=-1,
        )
    if waldo or rng.random() < 0.08:
        eye_r = max(1, r // 3)
        for side in (-1, 1):
            sprite.draw(cv2.circle, (cx + side * (eye_r + 1), head_y + r // 5), eye_r, color=(15, 15, 15), thickness=1)
    else:
        for side in (-1, 1):
            sprite.draw(cv2.circle, (cx + side * max(1, r // 3), head_y + r // 5), 0, color=(15, 15, 15), thickness=-1)
    return sprite


def _paste(page: np.ndarray, owner: np.ndarray, sprite: _Sprite, x: int, y: int, instance: int) -> None:
    """Paint ``sprite`` with its top-left at (x, y), clipped to the page, and record ``instance`` as the owner."""
    height, width = page.shape[:2]
    sh, sw = sprite.mask.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + sw), min(height, y + sh)
    if x0 >= x1 or y0 >= y1:
        return
    visible = sprite.mask[y0 - y : y1 - y, x0 - x : x1 - x].astype(bool)
    page[y0:y1, x0:x1][visible] = sprite.rgb[y0 - y : y1 - y, x0 - x : x1 - x][visible]
    owner[y0:y1, x0:x1][visible] = instance


def _scenery(rng: np.random.Generator, page: np.ndarray, unit: int) -> None:
    """Ground patches, paths, buildings, trees and striped objects (awnings, towels, poles) under the crowd."""
    height, width = page.shape[:2]
    page[:] = GROUND[rng.integers(len(GROUND))]
    for _ in range(rng.integers(3, 8)):
        points = rng.integers(0, [width, height], size=(rng.integers(3, 7), 2)).astype(np.int32)
        cv2.fillPoly(page, [cv2.convexHull(points)], _jitter(rng, GROUND[rng.integers(len(GROUND))], 20))
    area_units = height * width / (unit * unit)
    for _ in range(int(rng.integers(1, 3) * area_units / 40) + 1):
        x, y = rng.integers(0, width), rng.integers(0, height)
        bw, bh = rng.integers(2, 6) * unit, rng.integers(2, 5) * unit
        cv2.rectangle(page, (x, y), (x + bw, y + bh), _random_colour(rng), -1)
        for wy in range(y + unit // 3, y + bh - unit // 3, max(4, unit // 2)):
            for wx in range(x + unit // 3, x + bw - unit // 3, max(4, unit // 2)):
                cv2.rectangle(page, (wx, wy), (wx + unit // 5, wy + unit // 5), (60, 70, 90), -1)
    for _ in range(int(area_units / 12) + 1):
        x, y = rng.integers(0, width), rng.integers(0, height)
        kind = rng.integers(4)
        red, white = _jitter(rng, WALDO_RED, 12), _jitter(rng, WALDO_WHITE, 6)
        if kind == 0:  # tree
            cv2.rectangle(page, (x - unit // 8, y), (x + unit // 8, y + unit), (110, 70, 40), -1)
            cv2.circle(page, (x, y), int(unit * rng.uniform(0.4, 0.8)), _jitter(rng, (60, 140, 60), 30), -1)
        elif kind in (1, 2):  # striped awning / towel / flag in Waldo's colours or others
            bw, bh = int(unit * rng.uniform(0.5, 2.0)), int(unit * rng.uniform(0.3, 1.2))
            a, b = (red, white) if rng.random() < 0.6 else (_random_colour(rng), white)
            period = max(1, int(unit * rng.uniform(0.04, 0.12)))
            for row in range(0, bh, period):
                cv2.rectangle(
                    page, (x, y + row), (x + bw, y + min(bh, row + period) - 1), a if (row // period) % 2 else b, -1
                )
        else:  # ball or box clutter
            cv2.circle(page, (x, y), max(2, int(unit * rng.uniform(0.05, 0.2))), _random_colour(rng), -1)


def make_page(
    seed: int,
    size: tuple[int, int] = (768, 1024),
    *,
    waldo: bool = True,
    person_height: tuple[int, int] = (28, 72),
    density: float = 1.0,
) -> SynthPage:
    """A page of ``size`` (height, width), deterministic by ``seed``; ``waldo=False`` draws the same page without him."""
    rng = np.random.default_rng([seed, 0])
    waldo_rng = np.random.default_rng([seed, 1])
    height, width = size
    base = rng.uniform(*person_height)
    page = np.zeros((height, width, 3), np.uint8)
    owner = np.zeros((height, width), np.int32)
    _scenery(rng, page, int(base))
    count = int(density * 1.6 * height * width / (base * base * 0.75))
    people = []
    for index in range(count):
        h = int(base * rng.uniform(0.8, 1.2))
        decoy = int(rng.integers(len(STRIPE_DECOY_PAIRS))) if rng.random() < 0.06 else -1
        x, y = int(rng.integers(-h // 2, width)), int(rng.integers(-h // 2, height))
        people.append((y + h, index + 2, x, y, _person(rng, h, decoy=decoy)))
    waldo_sprite = None
    if waldo:
        h = int(base * waldo_rng.uniform(0.85, 1.15))
        waldo_sprite = _person(waldo_rng, h, waldo=True)
        x = int(waldo_rng.integers(0, max(1, width - waldo_sprite.mask.shape[1])))
        y = int(waldo_rng.integers(0, max(1, height - h)))
        people.append((y + h, WALDO_ID, x, y, waldo_sprite))
    people.sort(key=lambda p: (p[0], p[1]))  # painter's order: feet further down are nearer
    for _, instance, x, y, sprite in people:
        _paste(page, owner, sprite, x, y, instance)
    if waldo_sprite is None:
        return SynthPage(page, None, None, seed)
    _, _, wx, wy, _ = next(p for p in people if p[1] == WALDO_ID)
    if (owner == WALDO_ID).sum() < 0.5 * waldo_sprite.mask.sum():  # mostly hidden: bring him to the front
        _paste(page, owner, waldo_sprite, wx, wy, WALDO_ID)
    mask = owner == WALDO_ID
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return SynthPage(page, mask, box, seed)

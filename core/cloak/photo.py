"""One photo file in, its cloak and report out: the per-photo step that ``python -m core cloak`` and ``batch cloak``
both run, so a batch computes exactly what the single-photo command does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.cloak.attacks import Attack
from core.cloak.face_cloak import cloak_faces
from core.cloak.report import leave_one_out as measure_leave_one_out
from core.cloak.report import measure
from core.images import open_image


@dataclass(frozen=True)
class CloakSettings:
    """Everything but the photo that decides a cloak: plain values, so a batch job can ship it to its workers."""

    attack: Attack
    recognizers: tuple[str, ...]
    robust: bool
    margin: float
    references: tuple[Path, ...] = ()
    target: Path | None = None
    leave_one_out: bool = False

    def options(self) -> dict:
        """cloak_faces' keyword options, with the reference and target photos opened."""
        return {
            "references": [open_image(path) for path in self.references],
            "target": open_image(self.target) if self.target else None,
            "robust": self.robust,
            "margin": self.margin,
        }


def cloak_photo(path: Path, output: Path, settings: CloakSettings, options: dict) -> tuple[dict, bytes]:
    """One photo's cloak and its report (``output`` is where the caller will write the PNG): the one per-photo step
    of ``cloak`` and ``batch cloak``. Raises ImageError or NoFaceError for a photo that cannot be cloaked."""
    image = open_image(path)
    recognizers = list(settings.recognizers)
    cloak = cloak_faces(image, settings.attack, recognizers=recognizers, **options)
    report = {"image": str(path), "output": str(output), **measure(cloak)}
    if settings.leave_one_out:
        report["leave_one_out"] = measure_leave_one_out(image, settings.attack, recognizers, **options)
    return report, cloak.png

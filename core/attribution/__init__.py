"""Attribution: why the classifier (or the face recognizer) decided what it did, with Captum, scored for faithfulness.

- ``methods``: eight Captum methods behind ``attribute(model, inputs, target, method) -> Attribution``
- ``classifier``: the ImageNet classifier's view of an image and its top classes
- ``faithfulness``: deletion / insertion curves and the random-order baseline (RISE)
- ``sanity``: the model-randomisation sanity check (Adebayo et al.)
- ``panel``: all chosen methods on one image, scored (shared by the page, CLI and bench)
- ``render``: heatmap overlays
"""

from core.attribution.methods import METHODS, Attribution, Settings, attribute

__all__ = ["METHODS", "Attribution", "Settings", "attribute"]

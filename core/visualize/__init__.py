"""Inside the network: what a classifier's classes, channels and layers respond to, found by optimising images.

Class models (Simonyan et al. 2014; the Lucid recipe of Olah et al. 2017), channel and neuron visualisation,
maximally activating patches of a collection, DeepDream, feature inversion (Mahendran and Vedaldi 2015) and
fooling images (Nguyen et al. 2015). Each takes a progress callback ``(fraction, text)`` and returns its image, its
objective per step and the figures measured on the final uint8 image.
"""

from core.progress import Progress
from core.visualize.classes import ClassSettings, FoolSettings, class_model, fool
from core.visualize.features import ChannelSettings, DreamSettings, channel, channel_count, dream
from core.visualize.invert import InvertSettings, invert, square_view
from core.visualize.network import Network, classifiers, from_model, network
from core.visualize.optimize import Visualisation
from core.visualize.patches import Patches, top_patches

__all__ = [
    "ChannelSettings",
    "ClassSettings",
    "DreamSettings",
    "FoolSettings",
    "InvertSettings",
    "Network",
    "Patches",
    "Progress",
    "Visualisation",
    "channel",
    "channel_count",
    "class_model",
    "classifiers",
    "dream",
    "fool",
    "from_model",
    "invert",
    "network",
    "square_view",
    "top_patches",
]

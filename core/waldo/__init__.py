"""Find Waldo: synthetic crowds, real-page data, a CPU-trainable Mask R-CNN, tiled inference and evaluation."""

"""Cloak: adversarial perturbations that stop face recognizers (or an ImageNet classifier) from recognising a photo.

Modules: ``attacks`` (FGSM / PGD / MI-FGSM behind one ``Attack.perturb`` call), ``transforms`` (expectation over
transformation and the real re-encodings the report measures), ``quality`` (PSNR, SSIM, DSSIM, L-inf, L2 on a region),
``face_cloak`` (dodging / impersonation on the full-resolution photo), ``report`` (measured on the saved file) and
``classifier`` (MobileNetV2 attacks). Pixel values are on the 0..255 scale throughout; epsilon and step size are in
grey levels (1/255 of the range), so ``eps=8`` is the classic 8/255 budget.
"""

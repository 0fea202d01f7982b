"""Write a test video made from one real photo (pan and zoom, per-frame degradation, H.264 mp4).

    python scripts/make_test_video.py ../shared/data/faces/Colin_Powell/Colin_Powell_0004.jpg /tmp/powell.mp4

For trying the Faces page's video section and `python -m core faces video` on real faces; the demo data has no video.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.faces.synth_video import VideoRecipe, pan_zoom_video
from core.images import open_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("out", type=Path, help="the .mp4 to write (never the photo itself)")
    parser.add_argument("--seconds", type=float, default=VideoRecipe.seconds)
    parser.add_argument("--seed", type=int, default=VideoRecipe.seed)
    args = parser.parse_args()
    if args.out.resolve() == args.photo.resolve():
        parser.error("the output would overwrite the photo")
    args.out.write_bytes(pan_zoom_video(open_image(args.photo), VideoRecipe(seconds=args.seconds, seed=args.seed)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

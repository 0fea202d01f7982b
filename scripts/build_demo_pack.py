"""Build the demo pack (core/demo.py) under assets/demo/: public-domain and CC0 photos from scikit-image's wheel, with
their licences in LICENCES.csv. Idempotent. Usage: .venv/bin/python scripts/build_demo_pack.py"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.demo import PACK_DIR, build  # noqa: E402

if __name__ == "__main__":
    files = build()
    print(f"demo pack: {len(files)} photos in {PACK_DIR}")

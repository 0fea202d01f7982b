"""``python -m core ...``: the command-line twin of the dashboard."""

import sys

from core.cli import main

sys.exit(main())

"""``python -m core ...``: the command-line twin of the dashboard."""

import sys

from core.cli import main

if __name__ == "__main__":  # spawned tile workers import this module; they must not run the CLI
    sys.exit(main())

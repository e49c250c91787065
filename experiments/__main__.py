"""``python -m experiments sweep EXP.toml ...``: the sweep command without the ``reception`` CLI."""

import sys

from experiments.cli import main

if __name__ == "__main__":
    sys.exit(main())

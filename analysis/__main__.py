"""``python -m analysis report|plan ...``: the analysis commands without the ``reception`` CLI."""

import sys

from analysis.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m latentanon.datasets.synthetic --out DIR --preset small|default [--seed N]`` (``--help`` lists all)."""

import sys

from latentanon.datasets.synthetic.build import cli

if __name__ == "__main__":
    sys.exit(cli())

"""`python -m fmnist_keras.evaluate`: the old name of `python -m fmnist_keras.evaluation`, kept for one release.

The same command line (`fmnist_keras.evaluation.cli`), with its usage line under this name.
"""

import sys

from fmnist_keras.evaluation import cli
from fmnist_keras.evaluation.cli import build_parser

__all__ = ["build_parser", "main"]


def main(argv=None):
    """`fmnist_keras.evaluation.cli.main` under the old program name."""
    return cli.main(argv, prog="python -m fmnist_keras.evaluate")


if __name__ == "__main__":
    sys.exit(main())

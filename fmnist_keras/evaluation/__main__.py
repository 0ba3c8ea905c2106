"""`python -m fmnist_keras.evaluation` (the command line is `cli.main`)."""

import sys

from fmnist_keras.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())

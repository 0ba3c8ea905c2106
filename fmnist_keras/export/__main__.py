"""`python -m fmnist_keras.export` (the command line is `cli.main`, which the package also re-exports)."""

from fmnist_keras.export.cli import main

if __name__ == "__main__":
    main()

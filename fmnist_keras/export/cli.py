"""`python -m fmnist_keras.export`: export, verify, print the table (the help is the package docstring)."""

import argparse
import logging
import sys

from fmnist_keras.export.folder import export_model
from fmnist_keras.export.formats import FORMATS
from fmnist_keras.export.verify import format_report


def main(argv=None):
    """Command line: export, verify, print the table; errors are one line, exit 2."""
    import fmnist_keras.export
    from fmnist_keras.data import DataError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(prog="python -m fmnist_keras.export", description=fmnist_keras.export.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="RUN_DIR_OR_MODEL", help="a run folder or a .keras file")
    parser.add_argument("--formats", default=",".join(FORMATS), help="(default: %(default)s)")
    parser.add_argument("--out", help="export folder (default: saved_models/<recipe>-<stamp>)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export folder")
    parser.add_argument("--calibration-images", type=int, default=500,
                        help="real training images for int8 calibration (default: %(default)s)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the checks on the test set")
    parser.add_argument("--data-dir", default="", help="folder with the IDX files")
    args = parser.parse_args(argv)
    try:
        report = export_model(args.model, args.out, args.formats, overwrite=args.overwrite,
                              verify=args.verify, calibration_images=args.calibration_images,
                              data_dir=args.data_dir)
    except (ValueError, DataError, FileExistsError, FileNotFoundError) as e:
        print(f"export: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(format_report(report))
    return report

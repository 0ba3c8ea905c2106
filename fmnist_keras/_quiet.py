"""Loads Keras (and with it TensorFlow) without TensorFlow's C++ start-up log.

TensorFlow 2.21 writes its start-up lines (absl's "All log messages before
absl::InitializeLog()", oneDNN, "Could not find cuda drivers", CPU feature
notes) straight to file descriptor 2 from C++, and `TF_CPP_MIN_LOG_LEVEL` no
longer silences them (docs/design.md). So the import runs with descriptor 2
pointed at a temporary file: on success the captured lines are dropped, on
failure they are written out before the error, so nothing that explains a
broken install is lost. `--verbose` or `FMNIST_VERBOSE=1` skips all this.
"""

import contextlib
import os
import sys
import tempfile

VERBOSE_ENV = "FMNIST_VERBOSE"


def verbose_requested():
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def import_keras(verbose=False):
    """`import keras`, quietly unless `verbose` (or $FMNIST_VERBOSE) asks for the log."""
    if verbose or verbose_requested() or "keras" in sys.modules:
        import keras

        return keras
    with _stderr_captured() as captured:
        try:
            import keras

            if keras.config.backend() == "tensorflow":
                # The CUDA platform starts (and on a machine without a GPU logs
                # "failed call to cuInit") at the first device query: do it here.
                import tensorflow as tf

                tf.config.list_physical_devices()
        except BaseException:
            captured.replay = True
            raise
    return keras


class _Captured:
    replay = False


@contextlib.contextmanager
def _stderr_captured():
    """Points fd 2 (C++ and Python writes alike) at a temporary file for the block."""
    captured = _Captured()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if captured.replay:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))
                sys.stderr.flush()

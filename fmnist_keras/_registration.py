"""Registers the package's custom layers with Keras as soon as Keras is imported.

`keras.saving.load_model` finds custom layers (FRN, TLU, ...) by their
registered names, so `import fmnist_keras` must register them. Importing
Keras here would load TensorFlow (seconds, and its C++ start-up log) for
every command, `--help` included. So: if Keras is already loaded, register
now; otherwise wrap the loader of the top-level `keras` package once, so
that `fmnist_keras.layers` is imported right after Keras finishes loading,
whoever imports it.
"""

import importlib.util
import sys


def register_when_keras_loads():
    if "keras" in sys.modules:
        import fmnist_keras.layers  # noqa: F401
        return
    if not any(isinstance(finder, _KerasWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _KerasWatcher())


class _KerasWatcher:
    """A one-shot meta-path finder: lets the real finders find `keras`, then hooks its load."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def load_then_register(module):
            load(module)
            import fmnist_keras.layers  # noqa: F401

        spec.loader.exec_module = load_then_register  # this loader instance serves keras alone
        return spec

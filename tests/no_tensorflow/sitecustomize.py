"""Put this folder on PYTHONPATH to simulate a machine without TensorFlow.

Any import of tensorflow (or tensorflow_datasets) raises ModuleNotFoundError,
as on a GPU box that has JAX and CUDA only. Used by tests/test_jax_path.py.
"""

import sys


class _NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by tests/no_tensorflow)")
        return None


sys.meta_path.insert(0, _NoTensorFlow())

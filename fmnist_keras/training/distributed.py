"""Data parallelism over every device there is, in one process or several.

`--strategy data_parallel` means the same on both backends: one model
replica per device, each global batch split between them, gradients summed.
TensorFlow runs it with `tf.distribute.MirroredStrategy` (the devices of one
process). JAX runs it with Keras' own distribution API,
`keras.distribution.DataParallel`, over the devices of every process: a
launcher starts N copies of the command and tells each, through Keras' own
environment variables, where process 0 listens, how many processes there are
and which one it is (see docs/distributed.md):

    KERAS_DISTRIBUTION_JOB_ADDRESSES=host0:port  KERAS_DISTRIBUTION_NUM_PROCESSES=N
    KERAS_DISTRIBUTION_PROCESS_ID=k

Keras' own multi-worker path on TensorFlow (`MultiWorkerMirroredStrategy`)
fails before its first step since TF 2.16 (keras-team/keras#20585), so
`multiworker` is refused with a pointer here instead of a home-made loop.

This module imports Keras and JAX only inside functions: the ledger asks
`is_primary()` without starting a backend.
"""

import contextlib
import os

MULTIWORKER_ISSUE = "keras-team/keras#20585"
ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"

# This process's place in the job, set once by `initialize_processes`.
_process = {"id": 0, "count": 1}


def cluster_from_env(environ=None):
    """`(job_addresses, num_processes, process_id)` from Keras' variables, checked.

    A single process (no variables, or a count of 1) is `("", 1, 0)`.
    """
    environ = os.environ if environ is None else environ
    addresses = environ.get(ENV_ADDRESSES, "")
    count = _env_int(environ, ENV_NUM_PROCESSES, 1)
    index = _env_int(environ, ENV_PROCESS_ID, 0)
    if count < 1:
        raise ValueError(f"{ENV_NUM_PROCESSES} must be a positive integer. Received: {ENV_NUM_PROCESSES}={count}")
    if count == 1:
        return "", 1, 0
    if not 0 <= index < count:
        raise ValueError(f"{ENV_PROCESS_ID} must be in 0..{count - 1} ({ENV_NUM_PROCESSES}={count}). "
                         f"Received: {ENV_PROCESS_ID}={index}")
    if not addresses:
        raise ValueError(f"{ENV_NUM_PROCESSES}={count} needs {ENV_ADDRESSES} (process 0's host:port, "
                         f"or every process's, comma-separated). Received: {ENV_ADDRESSES}=''")
    return addresses, count, index


def _env_int(environ, name, default):
    text = environ.get(name, "")
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer. Received: {name}={text!r}") from None


def check_strategy(strategy, backend, environ=None):
    """Fails before any work on a strategy this backend (or this launch) cannot run."""
    _, count, _ = cluster_from_env(environ)
    if strategy == "multiworker":
        raise ValueError(
            f"strategy='multiworker' is refused: Keras 3's fit under tf.distribute.MultiWorkerMirroredStrategy "
            f"fails before the first step since TF 2.16 ({MULTIWORKER_ISSUE}). Train across processes on JAX "
            f"instead: KERAS_BACKEND=jax --strategy data_parallel, with {ENV_ADDRESSES}, {ENV_NUM_PROCESSES} and "
            f"{ENV_PROCESS_ID} set per process (docs/distributed.md). Received: strategy='multiworker'")
    if count > 1 and not (strategy == "data_parallel" and backend == "jax"):
        raise ValueError(
            f"{ENV_NUM_PROCESSES}={count} asks for several processes, which only --strategy data_parallel on "
            f"KERAS_BACKEND=jax runs (docs/distributed.md). Received: strategy={strategy!r}, backend={backend!r}")


def initialize_processes():
    """Joins the job described by Keras' variables (once per process); a no-op for one process.

    Must run before JAX touches a device. On CPUs the collectives go over
    gloo (JAX has no CPU collectives by default); the setting does nothing
    to GPU or TPU collectives.
    """
    addresses, count, index = cluster_from_env()
    if count == 1 or _process["count"] > 1:
        return
    import jax
    import keras

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize(addresses, count, index)
    _process.update(id=index, count=count)


def process_id():
    """This process's index in the job (0 when alone)."""
    return _process["id"]


def num_processes():
    """Processes in the job (1 when alone)."""
    return _process["count"]


def is_primary():
    """Whether this process writes the run's outputs (process 0 does, the others write nothing)."""
    return _process["id"] == 0


class Parallelism:
    """What a run needs to know about its data parallelism.

    Attributes:
        name: the strategy ("none", "data_parallel", "mirrored").
        scope: a context for building and fitting the model.
        keras_distribution: the JAX `keras.distribution.DataParallel`, or None.
        process_id, num_processes: this process in the job.
        device_count: devices over all processes (a training batch must divide by it).
    """

    def __init__(self, name, scope_factory, keras_distribution=None, device_count=1):
        self.name = name
        self._scope_factory = scope_factory
        self.keras_distribution = keras_distribution
        self.process_id = process_id()
        self.num_processes = num_processes()
        self.device_count = device_count

    def scope(self):
        return self._scope_factory()

    @property
    def is_primary(self):
        return self.process_id == 0

    @property
    def shards_data(self):
        """Whether fit's batches are split over devices by Keras (JAX): each
        process then feeds its part, padded to a multiple of the device count."""
        return self.keras_distribution is not None

    def batch_part(self):
        """`ArrayBatches` keywords that give this process its part of each global batch."""
        if not self.shards_data:
            return {}
        return {"process_index": self.process_id, "num_processes": self.num_processes,
                "device_count": self.device_count}


def make_parallelism(strategy):
    """The `Parallelism` for `strategy` on the current backend (after `check_strategy`)."""
    import keras

    backend = keras.config.backend()
    check_strategy(strategy, backend)
    if backend == "tensorflow":
        import tensorflow as tf

        tf_strategy = (tf.distribute.MirroredStrategy() if strategy in ("data_parallel", "mirrored")
                       else tf.distribute.get_strategy())
        return Parallelism(strategy, tf_strategy.scope, device_count=tf_strategy.num_replicas_in_sync)
    if strategy == "data_parallel":
        initialize_processes()
        devices = keras.distribution.list_devices()
        distribution = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
        return Parallelism(strategy, distribution.scope, distribution, device_count=len(devices))
    return Parallelism(strategy, contextlib.nullcontext)


def check_same_everywhere(values, what):
    """Raises unless every process holds the same float `values` (a collective: all must call it)."""
    if num_processes() == 1:
        return
    import numpy as np
    from jax.experimental import multihost_utils

    local = np.asarray(values, np.float64)
    gathered = np.asarray(multihost_utils.process_allgather(local))
    if not (gathered == gathered[0]).all():
        raise RuntimeError(f"processes disagree on {what}: {gathered.tolist()} (one row per process)")


def broadcast_text(text, size=4096):
    """Process 0's `text` on every process (a collective: all must call it)."""
    if num_processes() == 1:
        return text
    import numpy as np
    from jax.experimental import multihost_utils

    data = text.encode()
    if len(data) > size:
        raise ValueError(f"text longer than {size} bytes cannot be broadcast. Received: {text[:80]!r}...")
    buffer = np.zeros(size + 1, np.int32)  # last slot: the length
    buffer[:len(data)] = np.frombuffer(data, np.uint8)
    buffer[-1] = len(data)
    received = np.asarray(multihost_utils.broadcast_one_to_all(buffer))
    return bytes(received[:received[-1]].astype(np.uint8)).decode()

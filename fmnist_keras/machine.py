"""The one machine probe: what a run, export, evaluation or benchmark ran on.

Every record that names the machine (`results.json`, `export.json`, the
evaluation report, the ledger's hardware column, the benchmarks' headers)
asks here, so a field added once reaches all of them. Importing this module
loads no Keras or TensorFlow; `environment()` asks the Keras backend in use,
so a JAX machine without TensorFlow is described too.
"""

import os
import platform
import subprocess
from pathlib import Path

# Instruction sets that change CPU training speed several-fold (bf16 is 12x
# slower without avx512_bf16): worth a place beside every CPU timing.
NOTABLE_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def environment():
    """Host, CPU, accelerators and library versions, as a JSON-ready dict."""
    import keras

    backend = keras.config.backend()
    if backend == "jax":
        import jax

        devices = sorted({d.platform.upper() for d in jax.devices()})
        versions = {"jax": jax.__version__}
    else:
        import tensorflow as tf

        devices = [d.device_type for d in tf.config.list_physical_devices()]
        versions = {"tensorflow": tf.__version__}
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "cpu_flags": cpu_flags(),
        "device": "GPU" if "GPU" in devices else "CPU",
        "devices": devices,
        "gpu_names": accelerators("tensorflow" if backend != "jax" else "jax"),
        **versions,
        "keras": keras.__version__,
        "keras_backend": backend,
        "git_commit": git_commit(),
    }


def summary(env=None):
    """One line for reports and benchmark headers: "AMD EPYC, 2 cores, no GPU"
    or "..., 16 cores, 1 GPU (NVIDIA H200)". `env` defaults to `environment()`."""
    env = environment() if env is None else env
    names = env.get("gpu_names") or []
    kinds = ", ".join(sorted(set(names)))
    return f"{env['cpu_model']}, {env['cpu_count']} cores" + (f", {len(names)} GPU ({kinds})" if names else ", no GPU")


def accelerators(backend):
    """Names of the GPUs (or TPUs) `backend` sees; [] for a backend we cannot ask."""
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform != "cpu"]
    if backend == "tensorflow":
        import tensorflow as tf

        return [tf.config.experimental.get_device_details(d).get("device_name", "GPU")
                for d in tf.config.list_physical_devices("GPU")]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def cpu_model():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags():
    """The notable instruction-set flags this CPU reports (Linux; [] elsewhere)."""
    present = set((_cpuinfo_field("flags") or "").split())
    return [flag for flag in NOTABLE_FLAGS if flag in present]


def usable_cores():
    """Cores this process may run on (its affinity), which a container can make fewer than `os.cpu_count()`."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _cpuinfo_field(name):
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def git_commit():
    """The checkout's short commit; `$FMNIST_GIT_COMMIT` where there is no `.git`
    (a working tree copied to a GPU machine)."""
    if os.environ.get("FMNIST_GIT_COMMIT"):
        return os.environ["FMNIST_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None

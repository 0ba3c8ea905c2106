"""The real Fashion-MNIST, from the original IDX files or tensorflow-datasets.

The IDX reader is ours (a few lines of NumPy) because it must check what it
reads: magic numbers, dimensions, byte counts, label range and, by default,
the SHA-256 digests of the official release. Corrupt or foreign data raises
`DataError` naming the file; nothing is ever half-loaded.

Example:

>>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
>>> x_train.shape, x_train.dtype
((60000, 28, 28), dtype('uint8'))

Reference: Xiao, Rasul & Vollgraf, "Fashion-MNIST", https://arxiv.org/abs/1708.07747
"""

import gzip
import hashlib
import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)

# Pixel statistics of the 60,000 training images in [0, 1]; models normalize with them.
PIXEL_MEAN = 0.2860
PIXEL_STD = 0.3530

# What a model takes: float32 pixels in [0, 1], made by `to_model_input` only.
INPUT_SCALE = np.float32(1.0 / 255.0)


def to_model_input(pixels):
    """uint8 (or 0-255 float) pixels -> the float32 [0, 1] values every model takes.

    The one statement of the scaling (docs/design.md, "Images and labels"):
    training batches, evaluation, predict, export, the speedrun and the
    gallery all call it, so a model sees bit-identical input on every path
    (`x * float32(1/255)` and `x / 255.0` differ in the last bit for some
    pixels). Shapes pass through unchanged; add the channel axis before or
    after. Works on NumPy and JAX arrays and on TensorFlow tensors (in
    `tf.data` maps and exported graphs), without importing TensorFlow for the others.
    """
    if not hasattr(pixels, "dtype"):
        pixels = np.asarray(pixels)
    if hasattr(pixels, "astype"):  # NumPy and JAX arrays
        return pixels.astype(np.float32) * INPUT_SCALE
    import tensorflow as tf

    return tf.cast(pixels, tf.float32) * INPUT_SCALE

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
ENV_VAR = "FMNIST_DATA_DIR"

# name -> (kind, count, SHA-256 of the decoded file): the official current release.
FILES = {
    "train-images-idx3-ubyte": (
        "images", 60000, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (
        "labels", 60000, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (
        "images", 10000, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (
        "labels", 10000, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}

HOW_TO_GET = (
    "Get the data with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu, installs "
    f"{DEBIAN_DIR}), or download the four files from "
    "https://github.com/zalandoresearch/fashion-mnist into a folder and pass it as data_dir "
    f"(or set ${ENV_VAR}), or use source='tfds' with tensorflow-datasets installed."
)

_MAGIC = {"images": 0x00000803, "labels": 0x00000801}


class DataError(Exception):
    """Fashion-MNIST files are missing, unreadable, corrupt or not the official release."""


def default_data_dirs(data_dir=None):
    """The folders searched for IDX files, in order (only existing ones are used)."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser())
    dirs.append(Path(DEBIAN_DIR))
    dirs.append(Path("~/.keras/datasets/fashion-mnist").expanduser())
    return dirs


def find_idx_dir(data_dir=None):
    """Returns the first folder holding all four IDX files, or None."""
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise DataError(f"data_dir {str(data_dir)!r} does not exist or is not a folder. {HOW_TO_GET}")
    for folder in default_data_dirs(data_dir):
        if all(_idx_path(folder, name) is not None for name in FILES):
            return folder
    return None


def _idx_path(folder, name):
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_bytes(path):
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: cannot be read ({e}). {HOW_TO_GET}") from e


def parse_idx(raw, path, kind, verify_digest=None):
    """Decodes one IDX file's bytes into a uint8 array, checking everything.

    Args:
        raw: the decoded (un-gzipped) file contents.
        path: the file, for error messages.
        kind: "images" (N, rows, cols) or "labels" (N,).
        verify_digest: SHA-256 hex digest the bytes must have, or None.

    Returns:
        A read-only uint8 array.
    """
    if len(raw) < 8:
        raise DataError(f"{path}: truncated ({len(raw)} bytes, no IDX header). {HOW_TO_GET}")
    magic = int.from_bytes(raw[:4], "big")
    if magic != _MAGIC[kind]:
        raise DataError(
            f"{path}: bad magic number 0x{magic:08x}, expected 0x{_MAGIC[kind]:08x} for IDX "
            f"{kind}. {HOW_TO_GET}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header. {HOW_TO_GET}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if kind == "images" and (len(dims) != 3 or dims[1:] != (28, 28)):
        raise DataError(f"{path}: dimensions {dims}, expected (N, 28, 28). {HOW_TO_GET}")
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(
            f"{path}: {len(raw)} bytes, but its header {dims} says {expected} "
            f"(truncated or padded file). {HOW_TO_GET}")
    if verify_digest is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != verify_digest:
            raise DataError(
                f"{path}: SHA-256 {digest[:16]}... is not the official Fashion-MNIST "
                f"release's {verify_digest[:16]}... (another data set or a corrupt file; pass "
                f"verify=False to load it anyway). {HOW_TO_GET}")
    array = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
    if kind == "labels" and array.size and array.max() >= NUM_CLASSES:
        raise DataError(f"{path}: label {int(array.max())} found, expected 0..9. {HOW_TO_GET}")
    return array


def load_idx_dir(folder, verify=True):
    """Reads the four IDX files of `folder`: ((x_train, y_train), (x_test, y_test))."""
    folder = Path(folder)
    arrays = {}
    for name, (kind, count, digest) in FILES.items():
        path = _idx_path(folder, name)
        if path is None:
            raise DataError(f"{folder / name}[.gz]: file not found. {HOW_TO_GET}")
        array = parse_idx(_read_bytes(path), path, kind, digest if verify else None)
        if verify and len(array) != count:
            raise DataError(f"{path}: {len(array)} items, expected {count}. {HOW_TO_GET}")
        arrays[name] = array
    for split in ("train", "t10k"):
        images = arrays[f"{split}-images-idx3-ubyte"]
        labels = arrays[f"{split}-labels-idx1-ubyte"]
        if len(images) != len(labels):
            raise DataError(
                f"{folder}: {split} has {len(images)} images but {len(labels)} labels. "
                f"{HOW_TO_GET}")
    return (
        (arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
        (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]),
    )


def load_tfds():
    """Fashion-MNIST through tensorflow-datasets (downloads when online)."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise DataError(
            "source='tfds' needs tensorflow-datasets: pip install 'fmnist_keras[tfds]'. "
            f"{HOW_TO_GET}") from e
    try:
        splits = tfds.as_numpy(tfds.load("fashion_mnist", split=["train", "test"], batch_size=-1))
    except Exception as e:  # tfds raises many kinds (network, checksum, ...)
        raise DataError(f"tensorflow-datasets could not load fashion_mnist ({e}). {HOW_TO_GET}") from e
    return tuple(
        (np.asarray(s["image"], np.uint8)[..., 0], np.asarray(s["label"], np.uint8)) for s in splits)


def load_fashion_mnist(data_dir=None, source="auto", verify=True):
    """Loads the real Fashion-MNIST as uint8 arrays.

    Args:
        data_dir: a folder with the four original IDX files (optionally `.gz`).
            Searched first; then `$FMNIST_DATA_DIR`, the Debian package's
            folder and `~/.keras/datasets/fashion-mnist`.
        source: "idx" (files only), "tfds" (tensorflow-datasets) or "auto"
            (the first IDX folder found, else tensorflow-datasets).
        verify: compare SHA-256 digests with the official release.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Raises:
        DataError: the files are missing, corrupt or not Fashion-MNIST.
        ValueError: `source` is not one of the three.
    """
    if source not in ("auto", "idx", "tfds"):
        raise ValueError(f"source must be 'auto', 'idx' or 'tfds'. Received: source={source!r}")
    if source in ("auto", "idx"):
        folder = find_idx_dir(data_dir)
        if folder is not None:
            logger.info("Fashion-MNIST: IDX files from %s", folder)
            return load_idx_dir(folder, verify=verify)
        if source == "idx" or data_dir is not None:
            searched = ", ".join(str(d) for d in default_data_dirs(data_dir))
            raise DataError(f"no Fashion-MNIST IDX files in any of: {searched}. {HOW_TO_GET}")
    logger.info("Fashion-MNIST: tensorflow-datasets")
    return load_tfds()

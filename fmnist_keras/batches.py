"""NumPy batches for backends without TensorFlow (the JAX path).

A GPU machine often has JAX and CUDA but no TensorFlow, so `tf.data` is not
there. `ArrayBatches` is a `keras.utils.PyDataset` with the same contract as
`pipeline.make_dataset`: float32 NHWC batches in [0, 1] and int32 labels,
gathered per batch from the uint8 arrays; in training, one stream over
epochs `first_epoch .. epochs - 1` whose order within each epoch is a pure
function of `(seed, epoch)`, so a resumed run sees exactly the batches of an
uninterrupted one. (The order differs from the `tf.data` stream's, which
draws with TensorFlow's stateless RNG.) Augmentation happens on the device,
inside the trainer's compiled step.

With `on_device=True` (JAX, one device) the uint8 images are uploaded to the
device once (47 MB for the training set) and each batch is gathered and
scaled there by index, so a step moves a few hundred indices instead of a
float32 batch: on a fast accelerator that copy, not the model, bounds a small
model's step. The batches are bit-identical to the host's.

Under data parallelism over several processes (Keras' `DataParallel` on JAX,
with `auto_shard_dataset=False`) each process feeds only its part of every
global batch: process k of N gets rows `k*B/N .. (k+1)*B/N` of the batch that
one process would have seen, so the global batches and their order do not
depend on N. Keras then joins the parts into one global array.
"""

import keras
import numpy as np

from fmnist_keras import data
from fmnist_keras.pipeline import check_images


class ArrayBatches(keras.utils.PyDataset):
    """`(images, labels)` batches over in-memory uint8 arrays.

    Args:
        x: uint8 images `(N, H, W)` or `(N, H, W, C)`.
        y: integer labels `(N,)`.
        batch_size: images per batch.
        training: shuffle per epoch and drop the last partial batch;
            otherwise keep the order and every image.
        seed: the shuffle seed.
        epochs, first_epoch: training only; the stream covers these epochs
            (pass `steps_per_epoch=len(x) // batch_size` to `fit`). With
            `epochs=None` it is one epoch, shuffled by `(seed, 0)`.
        process_index, num_processes: this process's part of each global
            batch (see the module docstring); `batch_size` stays global.
        device_count: devices over all processes, which must split every
            global batch evenly. Training batches must divide by it; the last
            evaluation batch is padded up to a multiple of it with rows of
            sample weight 0 (accuracy stays exact; the loss of that batch is
            averaged over the padded count), and evaluation batches then carry
            sample weights.
    """

    def __init__(self, x, y, batch_size, *, training, seed=0, epochs=None, first_epoch=0,
                 process_index=0, num_processes=1, device_count=1, on_device=False):
        super().__init__()
        x, y = check_images(x, y, batch_size, training)
        if num_processes < 1 or not 0 <= process_index < num_processes:
            raise ValueError(f"process_index must be in 0..num_processes-1. Received: "
                             f"process_index={process_index!r}, num_processes={num_processes!r}")
        if device_count < num_processes or device_count % num_processes:
            raise ValueError(f"device_count must be a multiple of num_processes (the same devices in every "
                             f"process). Received: device_count={device_count!r}, num_processes={num_processes!r}")
        if training and batch_size % device_count:
            raise ValueError(f"batch_size must divide evenly between the {device_count} devices of the data "
                             f"parallelism. Received: batch_size={batch_size!r}")
        self.process_index, self.num_processes, self.device_count = process_index, num_processes, device_count
        self.images = x if x.ndim == 4 else x[..., None]
        self.labels = np.asarray(y, np.int32)
        self.batch_size = batch_size
        self.training = training
        self.seed = seed
        self.first_epoch = first_epoch if training and epochs is not None else 0
        n = len(self.images)
        if training:
            self.steps_per_epoch = n // batch_size
            epochs = self.first_epoch + 1 if epochs is None else epochs
            self.num_epochs = epochs - self.first_epoch
        else:
            self.steps_per_epoch = -(-n // batch_size)
            self.num_epochs = 1
        self._order = (None, None)  # (epoch, its permutation): one epoch cached
        # Evaluation batches carry weights when some batch needs padding rows.
        self.weighted = not training and (n % batch_size) % device_count != 0
        self._device_gather = _device_gather(self.images) if on_device else None

    def __len__(self):
        return self.steps_per_epoch * self.num_epochs

    def _indices(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        step = index % self.steps_per_epoch
        if not self.training:
            return slice(step * self.batch_size, (step + 1) * self.batch_size)
        epoch = self.first_epoch + index // self.steps_per_epoch
        if self._order[0] != epoch:
            self._order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.images)))
        return self._order[1][step * self.batch_size:(step + 1) * self.batch_size]

    def __getitem__(self, index):
        idx = np.arange(len(self.images))[self._indices(index)]
        weights = np.ones(len(idx), np.float32)
        padding = -len(idx) % self.device_count
        if padding:  # evaluation only: repeat the first rows with weight 0
            idx = np.concatenate([idx, np.resize(idx, padding)])
            weights = np.concatenate([weights, np.zeros(padding, np.float32)])
        part = len(idx) // self.num_processes
        mine = slice(self.process_index * part, (self.process_index + 1) * part)
        idx, weights = idx[mine], weights[mine]
        if self._device_gather is not None:
            images = self._device_gather(idx.astype(np.int32))
        else:
            images = data.to_model_input(self.images[idx])
        if self.weighted:
            return images, self.labels[idx], weights
        return images, self.labels[idx]


def _device_gather(images):
    """`fn(indices) -> float32 batch in [0, 1]`, gathering from `images` uploaded once to the device."""
    if keras.config.backend() != "jax":
        raise ValueError("on_device batches need the JAX backend (tf.data prefetches to the device by "
                         f"itself). Received: backend={keras.config.backend()!r}")
    import jax
    import jax.numpy as jnp

    if len(jax.devices()) != 1:
        raise ValueError("on_device batches need one device (several devices shard each batch: use "
                         f"on_device=False). Received: {len(jax.devices())} devices")
    resident = jax.device_put(images)  # passed as an argument, not baked into the program as a constant
    gather = jax.jit(lambda pixels, indices: data.to_model_input(jnp.take(pixels, indices, axis=0)))
    return lambda indices: gather(resident, indices)

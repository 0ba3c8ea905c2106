"""Writing the artifacts: the SavedModel's four serving signatures and the TFLite files.

Every artifact takes raw pixels 0-255 and calls the model with
`training=False` (the package docstring has the contract).
"""

import tempfile
from pathlib import Path

import numpy as np

from fmnist_keras.data import to_model_input

FORMATS = ("savedmodel", "tflite", "tflite-fp16", "tflite-int8")
FILES = {"savedmodel": "savedmodel", "tflite": "model_float32.tflite",
         "tflite-fp16": "model_fp16.tflite", "tflite-int8": "model_int8.tflite"}
SIGNATURES = {  # name -> (dtype, with channel axis)
    "serving_default": ("float32", True),
    "serving_uint8": ("uint8", True),
    "serving_float32_hw": ("float32", False),
    "serving_uint8_hw": ("uint8", False),
}


def parse_formats(formats):
    """ "savedmodel,tflite" or a sequence -> a tuple of known format names."""
    names = [f.strip() for f in formats.split(",")] if isinstance(formats, str) else list(formats)
    names = [f for f in names if f]
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise ValueError(f"formats must be a non-empty list of {', '.join(FORMATS)}. Received: formats={formats!r}")
    return tuple(dict.fromkeys(names))


def image_shape(model):
    """`(H, W, C)` of a model's input; a clear error for anything else."""
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or None in shape:
        raise ValueError(f"expected a model with input (B, H, W, C). Received: input_shape={model.input_shape}")
    return shape


def _archive(model, endpoints):
    """A Keras `ExportArchive` of `model` with `endpoints` = {name: (fn, TensorSpec)}: the
    TFLite converter's input (its variables convert to constants; a `tf.Module`'s do not)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, spec) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=[spec])
    return archive


def _save(model, path, signatures):
    """Saves `model` behind `signatures` = {name: (fn, TensorSpec)} as a SavedModel.

    A plain `tf.Module` holding the model: Keras' `ExportArchive` stores every
    variable twice (a 16 MB model became a 32 MB SavedModel).
    """
    import tensorflow as tf

    module = tf.Module()
    module.model = model  # tracks the variables once
    concrete = {name: tf.function(fn).get_concrete_function(spec) for name, (fn, spec) in signatures.items()}
    tf.saved_model.save(module, str(path), signatures=concrete)


def probabilities_fn(model, channel_axis=True):
    """Raw pixels -> float32 probabilities, with the model in inference mode."""
    import tensorflow as tf

    def probabilities(pixels):
        x = to_model_input(pixels)
        if not channel_axis:
            x = x[..., None]
        return tf.cast(model(x, training=False), tf.float32)

    return probabilities


def _serving_fn(model, channel_axis):
    """Raw pixels -> {"probabilities", "class_id"} (one signature's function)."""
    import tensorflow as tf

    probabilities = probabilities_fn(model, channel_axis)

    def serve(pixels):
        probs = probabilities(pixels)
        return {"probabilities": probs, "class_id": tf.argmax(probs, axis=-1)}

    return serve


def write_savedmodel(model, path):
    """Writes the four serving signatures (see the package docstring)."""
    import tensorflow as tf

    shape = image_shape(model)
    endpoints = {}
    for name, (dtype, channel_axis) in SIGNATURES.items():
        if not channel_axis and shape[-1] != 1:
            continue  # (B, H, W) only makes sense for 1-channel models
        spec_shape = (None,) + (shape if channel_axis else shape[:-1])
        endpoints[name] = (_serving_fn(model, channel_axis), tf.TensorSpec(spec_shape, dtype, name="pixels"))
    _save(model, path, endpoints)
    return path


def write_tflite(model, path, mode="float32", calibration=None):
    """Converts to TFLite: mode "float32", "fp16" (float16 weights) or "int8"
    (full-integer, calibrated on `calibration`: uint8 images (N, H, W) or (N, H, W, 1))."""
    import tensorflow as tf

    shape = image_shape(model)
    spec = tf.TensorSpec((None,) + shape, "float32", name="pixels")  # batch resizable
    with tempfile.TemporaryDirectory() as tmp:
        _archive(model, {"serve": (probabilities_fn(model), spec)}).write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if mode == "fp16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif mode == "int8":
            _quantize_int8(converter, calibration, shape)
        elif mode != "float32":
            raise ValueError(f"mode must be float32, fp16 or int8. Received: mode={mode!r}")
        Path(path).write_bytes(converter.convert())
    return path


def _quantize_int8(converter, calibration, shape):
    """Full-integer conversion calibrated on real uint8 images: the input takes the raw bytes
    (scale 1, zero point 0), the output stays float32 probabilities."""
    import tensorflow as tf

    if calibration is None or len(calibration) == 0:
        raise ValueError("int8 export needs calibration images. Received: calibration=None")
    images = np.asarray(calibration).reshape((-1,) + shape).astype("float32")

    def representative():
        for image in images:
            yield [image[None]]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.float32

"""Running exported artifacts on raw pixels: a loaded SavedModel (`serve`) and a TFLite file
(`TFLiteRunner`). Verification, `predict` and users call these; nothing here writes."""

import numpy as np


def serve(loaded, pixels):
    """Runs a loaded SavedModel on raw pixels, picking the signature by dtype and rank.

    Args:
        loaded: `tf.saved_model.load(path)` of an export.
        pixels: uint8 or float array `(B, H, W)` or `(B, H, W, 1)` of 0-255 values.

    Returns:
        `(probabilities, class_id)` NumPy arrays.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        dtype = "uint8"
    elif np.issubdtype(pixels.dtype, np.floating) or np.issubdtype(pixels.dtype, np.integer):
        dtype, pixels = "float32", pixels.astype("float32")
    else:
        raise ValueError(f"pixels must be uint8 or float. Received: dtype={pixels.dtype}")
    name = {("float32", 4): "serving_default", ("uint8", 4): "serving_uint8",
            ("float32", 3): "serving_float32_hw", ("uint8", 3): "serving_uint8_hw"}.get((dtype, pixels.ndim))
    signature = loaded.signatures.get(name) if name else None
    spec = None if signature is None else signature.structured_input_signature[1]["pixels"]
    if spec is None or tuple(pixels.shape[1:]) != tuple(spec.shape[1:]):
        expected = loaded.signatures["serving_default"].structured_input_signature[1]["pixels"].shape[1:]
        raise ValueError(f"pixels must have shape (B, {expected[0]}, {expected[1]}) or "
                         f"(B, {', '.join(map(str, expected))}). Received: shape={pixels.shape}")
    out = signature(pixels=pixels)
    return out["probabilities"].numpy(), out["class_id"].numpy()


def make_interpreter(path):
    """A TFLite interpreter: LiteRT's when installed, else TensorFlow's (deprecated)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - depends on the optional extra
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=str(path))


class TFLiteRunner:
    """Batched inference with a TFLite file; takes raw pixels (B, H, W[, 1])."""

    def __init__(self, path):
        self.interpreter = make_interpreter(path)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.image_shape = tuple(int(d) for d in self.input["shape"][1:])
        self.batch = None

    def __call__(self, pixels):
        pixels = received = np.asarray(pixels)
        if pixels.ndim == 3 and self.image_shape[-1] == 1:
            pixels = pixels[..., None]
        if pixels.shape[1:] != self.image_shape or not (
                pixels.dtype == np.uint8 or np.issubdtype(pixels.dtype, np.number)):
            raise ValueError(f"pixels must have shape (B, {', '.join(map(str, self.image_shape))}) "
                             f"or (B, {', '.join(map(str, self.image_shape[:-1]))}), uint8 or float. "
                             f"Received: shape={received.shape}, dtype={received.dtype}")
        if self.batch != len(pixels):
            self.interpreter.resize_tensor_input(self.input["index"], (len(pixels),) + self.image_shape)
            self.interpreter.allocate_tensors()
            self.batch = len(pixels)
        dtype = self.input["dtype"]
        if dtype == np.uint8:
            scale, zero = self.input["quantization"]
            x = pixels / scale + zero if scale else pixels
            x = np.clip(np.round(x), 0, 255).astype(np.uint8)
        else:
            x = pixels.astype(dtype)
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).astype("float32")

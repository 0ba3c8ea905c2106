"""The model zoo: every registered builder trains, saves, reloads and is named; exact sizes."""

import copy
import functools
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from fmnist_keras.layers import TLU, FilterResponseNormalization
from fmnist_keras.models import (
    build_model, count_mult_adds, count_trainable_params, list_models, model_knobs)

EXPECTED = ["cnn1", "cnn2", "cnn3", "cnn4", "cnn5", "mlp", "resnet18", "resnet34", "speednet", "vgg11",
            "vgg16", "wrn28_10", "wrn40_4"]
# Slow on 2 CPU cores (tens of seconds per step); still run in CI, on small batches.
SLOW = {"wrn28_10", "resnet34", "wrn40_4", "vgg16"}
# Training batch per model: big models get small batches to keep the suite bounded.
BATCH = {"wrn28_10": 8, "resnet34": 16, "wrn40_4": 16, "vgg16": 16, "resnet18": 16}
STAGE_PREFIX = re.compile(r"(input|stem|stage\d+|features|classifier|head)(_[a-z0-9]+)*")


def _params(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


@functools.lru_cache(maxsize=None)
def _built(name):
    """One default build per name, shared by the read-only tests of this module."""
    keras.utils.set_random_seed(0)
    return build_model(name)


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_registry_lists_every_report_model():
    assert list_models() == EXPECTED
    assert model_knobs("resnet18") == {"input_shape": (28, 28, 1), "num_classes": 10, "head": "softmax",
                                       "width": 64, "stem": "cifar", "norm": "batch"}


@pytest.mark.parametrize("name", _params(list_models()))
def test_builds_with_named_layers(name):
    model = _built(name)
    assert isinstance(model, keras.Model) and model.name == name
    assert tuple(model.input.shape) == (None, 28, 28, 1)
    assert tuple(model.output.shape) == (None, 10)
    assert model.layers[1].name == "input_norm"  # normalization lives inside the model
    names = [layer.name for layer in model.layers]
    assert len(set(names)) == len(names)
    for layer in model.layers:
        # `{stage}_{block}_{op}`, never a Keras auto name like "conv2d_3".
        assert STAGE_PREFIX.fullmatch(layer.name), layer.name
        assert re.sub(r"_\d+$", "", layer.name) != _snake(type(layer).__name__), layer.name


@pytest.mark.parametrize("name", _params(list_models()))
def test_train_on_batch_lowers_loss(name, real_batch):
    images, labels = real_batch
    batch = BATCH.get(name, 32)
    keras.utils.set_random_seed(0)
    model = build_model(name)
    # Plain SGD with a small step: on one fixed batch the loss must go down.
    model.compile(optimizer=keras.optimizers.SGD(0.02), loss="categorical_crossentropy")
    losses = [float(model.train_on_batch(images[:batch], labels[:batch])) for _ in range(4)]
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < 0.99 * losses[0], losses


@pytest.mark.parametrize("name", _params(list_models()))
def test_keras_file_round_trip(name, real_batch, tmp_path):
    model = _built(name)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = real_batch[0][:4]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), rtol=1e-6, atol=1e-7)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name", _params(list_models()))
def test_config_round_trip(name, real_batch):
    model = _built(name)
    config = model.get_config()
    clone = keras.Model.from_config(copy.deepcopy(config))  # from_config consumes its dict
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    x = real_batch[0][:4]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), rtol=1e-6, atol=1e-7)


def _sum_params(model, kind):
    return sum(layer.count_params() for layer in model.layers if isinstance(layer, kind))


def test_cnn1_exact_parameter_counts():
    model = _built("cnn1")
    assert _sum_params(model, keras.layers.Conv2D) == 240_256
    assert _sum_params(model, keras.layers.Dense) == 3_807_754
    assert model.count_params() == 4_048_010
    assert model.get_layer("classifier_input_flatten").output.shape[-1] == 3200


def test_cnn2_adds_704_trainable_batchnorm_parameters():
    model = _built("cnn2")
    bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bn) == 4
    assert sum(count_trainable_params(layer) for layer in bn) == 704
    assert count_trainable_params(model) == 4_048_010 + 704
    assert model.count_params() == 4_048_010 + 2 * 704  # + moving mean and variance


def test_cnn3_is_cnn2_with_fc_dropout():
    cnn2, cnn3 = _built("cnn2"), _built("cnn3")
    assert cnn3.count_params() == cnn2.count_params()
    drops = [layer for layer in cnn3.layers if isinstance(layer, keras.layers.Dropout)]
    assert [d.name for d in drops] == ["classifier_fc1_dropout", "classifier_fc2_dropout"]
    assert all(d.rate == 0.5 for d in drops)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in cnn2.layers)


def test_cnn4_and_cnn5_sizes():
    cnn4, cnn5 = _built("cnn4"), _built("cnn5")
    assert cnn4.get_layer("classifier_input_flatten").output.shape[-1] == 512
    assert cnn4.count_params() == 66_442 and count_trainable_params(cnn4) == 65_994  # "~65,000"
    assert cnn5.get_layer("classifier_input_flatten").output.shape[-1] == 1024
    assert cnn5.count_params() == 1_854_218  # "~1.8M"


def test_other_parameter_counts():
    counts = {name: _built(name).count_params() for name in ("mlp", "vgg11", "resnet18", "wrn40_4")}
    assert counts == {"mlp": 478_410, "vgg11": 9_758_026, "resnet18": 11_182_410, "wrn40_4": 8_959_706}


def test_resnet18_width42_under_5m_on_cifar_input():
    model = build_model("resnet18", width=42, input_shape=(32, 32, 3))
    # Report 003 states 4,813,298; the standard CIFAR ResNet-18 with in_planes 42 has 4,815,940
    # trainable parameters (the same count in PyTorch). See the resnet module docstring.
    assert count_trainable_params(model) == 4_815_940
    assert model.count_params() == 4_815_940 + 6_300  # BatchNorm moving statistics
    assert build_model("resnet18", width=42).count_params() < 5_000_000


@pytest.mark.slow
def test_wrn28_10_matches_reference_count_on_cifar_input():
    model = build_model("wrn28_10", input_shape=(32, 32, 3))
    assert count_trainable_params(model) == 36_479_194  # the authors' 36.5M


def test_mult_adds_counted_from_shapes():
    model = _built("cnn1")
    convs = 26 * 26 * 9 * 1 * 32 + 24 * 24 * 9 * 32 * 64 + 24 * 24 * 9 * 64 * 128 + 10 * 10 * 9 * 128 * 128
    assert count_mult_adds(model) == convs + 3200 * 1024 + 1024 * 512 + 512 * 10
    assert count_mult_adds(_built("mlp")) == 784 * 400 + 400 * 400 + 400 * 10


def test_sigmoid_head():
    model = build_model("cnn4", head="sigmoid")
    assert model.get_layer("head_dense").get_config()["activation"] == "sigmoid"


@pytest.mark.parametrize("stem", ["cifar", "imagenet"])
@pytest.mark.parametrize("norm", ["batch", "frn", "group", "none"])
def test_resnet_norm_swaps_norm_and_activation(norm, stem, real_batch):
    model = build_model("resnet18", width=8, norm=norm, stem=stem)
    kinds = {type(layer) for layer in model.layers}
    has = {"batch": keras.layers.BatchNormalization, "frn": FilterResponseNormalization,
           "group": keras.layers.GroupNormalization}
    for key, cls in has.items():
        assert (cls in kinds) == (norm == key)
    assert (TLU in kinds) == (norm == "frn")
    assert (keras.layers.ReLU in kinds) == (norm != "frn")
    if norm == "frn":
        # FRN without TLU before the add (timm's apply_act=False); the block ends with TLU.
        assert isinstance(model.get_layer("stage1_block1_conv2_frn"), FilterResponseNormalization)
        assert isinstance(model.get_layer("stage1_block1_out_tlu"), TLU)
        assert isinstance(model.get_layer("stage2_block1_proj_frn"), FilterResponseNormalization)
    probs = keras.ops.convert_to_numpy(model(real_batch[0][:4], training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_wrn_and_vgg_take_norm_and_dropout():
    wrn = build_model("wrn40_4", norm="frn", dropout=0.3)
    assert isinstance(wrn.get_layer("stage1_block1_pre_frn"), FilterResponseNormalization)
    assert wrn.get_layer("stage3_block6_dropout").rate == 0.3
    vgg = build_model("vgg11", norm="none", dense=(), dropout=0.0)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in vgg.layers)
    assert vgg.get_layer("stage5_out_pool").output.shape[1:3] == (1, 1)


@pytest.mark.parametrize("name", ["cnn2", "cnn4"])
def test_pytorch_init_draws_kernels_and_biases_within_one_over_sqrt_fan_in(name):
    """PyTorch's Conv2d/Linear defaults (report 001 was PyTorch): kernel and bias uniform in
    +-1/sqrt(fan_in), where Keras draws Glorot-uniform kernels and zero biases."""
    keras.utils.set_random_seed(0)
    layers = [layer for layer in build_model(name, init="pytorch").layers
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    assert len(layers) >= 4
    for layer in layers:
        kernel, bias = (w.numpy() for w in layer.weights)
        bound = 1 / np.sqrt(np.prod(kernel.shape[:-1]))
        bound_f32 = bound * (1 + 1e-6)  # the draw is float32
        assert np.abs(kernel).max() <= bound_f32 and np.abs(bias).max() <= bound_f32, layer.name
        assert kernel.std() == pytest.approx(bound / np.sqrt(3), rel=0.1), layer.name  # uniform's std
        assert np.abs(bias).max() > 0.5 * bound, layer.name  # drawn, not zeros
    keras_default = [layer for layer in build_model(name).layers if isinstance(layer, keras.layers.Dense)]
    assert not keras_default[-1].weights[1].numpy().any()  # Keras: zero biases


def test_mlp_knobs():
    model = build_model("mlp", hidden=(64, 32, 16), dropout=0.2, initializer="random_normal")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [64, 32, 16, 10]
    assert dense[0].get_config()["kernel_initializer"]["class_name"] == "RandomNormal"


def test_frn_mixed_precision_model_trains(real_batch):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_model("resnet18", width=8, norm="frn")
        frn = model.get_layer("stem_frn")
        assert frn.compute_dtype == "bfloat16" and frn.gamma.dtype == "float32"
        assert model.output.dtype == "float32"
        model.compile(optimizer=keras.optimizers.SGD(0.02), loss="categorical_crossentropy")
        loss = float(model.train_on_batch(*[a[:16] for a in real_batch]))
        assert np.isfinite(loss)
    finally:
        keras.config.set_dtype_policy(previous)


_RELOAD = textwrap.dedent("""
    import sys, numpy as np, keras
    import fmnist_keras  # registers the custom layers; no custom_objects below
    model = keras.saving.load_model(sys.argv[1])
    x, expected = np.load(sys.argv[2]), np.load(sys.argv[3])
    assert type(model.get_layer("stem_frn")).__name__ == "FilterResponseNormalization"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=False)), expected,
                               rtol=1e-6, atol=1e-7)
    print("reloaded")
""")


def test_frn_resnet_reloads_in_a_fresh_process_without_custom_objects(real_batch, tmp_path):
    keras.utils.set_random_seed(0)
    model = build_model("resnet18", width=8, norm="frn")
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="categorical_crossentropy")
    model.train_on_batch(*[a[:32] for a in real_batch])  # move gamma, beta, tau off their init
    x = real_batch[0][:4]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", keras.ops.convert_to_numpy(model(x, training=False)))
    model.save(tmp_path / "frn.keras")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _RELOAD, str(tmp_path / "frn.keras"), str(tmp_path / "x.npy"),
         str(tmp_path / "y.npy")], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("reloaded")


@pytest.mark.parametrize("name, knobs, received", [
    ("nope", {}, "name='nope'"),
    ("mlp", {"width": 3}, "width=3"),
    ("mlp", {"hidden": (400, 0)}, "hidden=(400, 0)"),
    ("mlp", {"dropout": 1.5}, "dropout=1.5"),
    ("mlp", {"initializer": "zeros"}, "initializer='zeros'"),
    ("cnn3", {"dropout": -0.1}, "dropout=-0.1"),
    ("cnn4", {"dropout": 0.5}, "dropout=0.5"),
    ("cnn2", {"init": "torch"}, "init='torch'"),
    ("vgg11", {"dense": "512"}, "dense='512'"),
    ("vgg16", {"norm": "layer"}, "norm='layer'"),
    ("resnet18", {"width": 0}, "width=0"),
    ("resnet34", {"stem": "tiny"}, "stem='tiny'"),
    ("resnet18", {"norm": "instance"}, "norm='instance'"),
    ("resnet18", {"head": "tanh"}, "head='tanh'"),
    ("wrn40_4", {"dropout": 1.0}, "dropout=1.0"),
])
def test_bad_names_and_knobs_raise_clear_errors(name, knobs, received):
    with pytest.raises(ValueError, match=re.escape(f"Received: {received}") + "$") as info:
        build_model(name, **knobs)
    if name == "nope":
        assert all(n in str(info.value) for n in list_models())
    if "width" in knobs and name == "mlp":
        assert "hidden" in str(info.value)  # lists the knobs that exist


def test_the_cli_model_choices_are_the_registry():
    """`--model`'s choices come from fmnist_keras.choices (no Keras import); they must be the registry."""
    from fmnist_keras import choices
    from fmnist_keras.models import list_models

    assert sorted(choices.MODELS) == list_models()

"""The parser over every op, the model layer, and device vs host placement."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fmnist_keras import pipeline
from fmnist_keras.augment import ALIASES, OPS, AugmentLayer, AugmentStack, format_augment, parse_augment
from fmnist_keras.training.trainer import AugmentingTrainer


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_parser_knows_every_op():
    assert parse_augment("flip,pad_crop,erasing(prob=0.5),ricap(beta=0.3)") == [
        ("flip", {}), ("pad_crop", {}), ("random_erasing", {"prob": 0.5}), ("ricap", {"beta": 0.3})]
    stack = parse_augment("translate(max_fraction=0.1),rotate,cutout(size=0.25),mixup(alpha=0.2),"
                          "cutmix,augmix(severity=2),autoaugment,randaugment(num_ops=1, magnitude=5)")
    assert [name for name, _ in stack] == [
        "translate", "rotate", "cutout", "mixup", "cutmix", "augmix", "autoaugment", "randaugment"]
    assert {"flip", "pad_crop", "translate", "rotate", "random_erasing", "cutout", "mixup", "cutmix",
            "ricap", "augmix", "autoaugment", "randaugment"} <= set(OPS)
    with pytest.raises(ValueError, match="unknown augmentation 'cutot'; available: .*cutout"):
        parse_augment("cutot")
    with pytest.raises(ValueError, match="unknown parameter.*views2 for 'augmix'; it takes severity=3"):
        parse_augment("augmix(views2=3)")
    assert AugmentStack("flip,augmix(views=3)").views == 3
    with pytest.raises(ValueError, match="must be the last op"):
        AugmentStack("augmix(views=3),mixup")


def test_augment_layer_trains_only_and_round_trips(real_batch, tmp_path):
    images = real_batch[0][:16]
    inputs = keras.Input((28, 28, 1))
    x = AugmentLayer("erasing", prob=1.0, seed=3, name="erase")(inputs)
    outputs = AugmentLayer("flip", name="flip")(x)
    model = keras.Model(inputs, outputs)
    np.testing.assert_array_equal(_np(model(images, training=False)), images)
    np.testing.assert_array_equal(_np(model.predict(images, verbose=0)), images)
    trained = _np(model(images, training=True))
    assert np.mean(np.any(trained != images, axis=(1, 2, 3))) > 0.9
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert reloaded.get_layer("erase").params == {"prob": 1.0}
    np.testing.assert_array_equal(_np(reloaded(images)), images)
    with pytest.raises(ValueError, match="Received: op='mixup'"):
        AugmentLayer("mixup")
    with pytest.raises(ValueError, match="unknown parameter"):
        AugmentLayer("flip", probability=0.5)


def test_names_are_function_names_and_old_spellings_parse_to_them():
    assert parse_augment("erasing(prob=0.5),random_erasing") == [
        ("random_erasing", {"prob": 0.5}), ("random_erasing", {})]
    assert format_augment(parse_augment("erasing(prob=0.5),ricap")) == "random_erasing(prob=0.5),ricap"
    assert ALIASES == {"erasing": "random_erasing"}
    # A config written before the rename (a saved stack or layer) still loads.
    assert AugmentStack.from_config({"augment": "erasing(prob=0.5)", "seed": 0}).augment == \
        "random_erasing(prob=0.5)"
    assert AugmentLayer.from_config({"op": "erasing", "seed": 0, "params": {"prob": 0.5}}).op == "random_erasing"
    with pytest.raises(ValueError, match="unknown augmentation 'erasin'.*aliases: erasing = random_erasing"):
        parse_augment("erasin")


@pytest.mark.parametrize("build, message", [
    (lambda: AugmentLayer("flip,erasing"), "AugmentLayer runs one op; 'flip,erasing' is a stack of 2"),
    (lambda: AugmentLayer("zoom"), "unknown augmentation 'zoom'; available: augmix"),
    (lambda: AugmentLayer("flip", prob=1.5), r"bad value for 'flip': prob must be in \[0, 1\]"),
    (lambda: AugmentLayer("erasing(fill='blue')"), "fill must be one of"),
    (lambda: AugmentLayer("erasing(prob=0.5)", prob=0.3), "prob given both in op="),
    (lambda: AugmentLayer("augmix(views=3)"), "changes labels or the batch size"),
    (lambda: AugmentStack("flip,pad_crop(pad=-1)"), "bad value for 'pad_crop': pad must be an integer >= 0"),
    (lambda: AugmentStack("mixup(alpha=0)"), r"alpha must be > 0. Received: alpha=0 \(in augment="),
    (lambda: AugmentStack("randaugment(num_ops=2.5)"), r"num_ops must be an integer in \[0, 8\]"),
    (lambda: AugmentStack("rotate(max_degrees='big')"), "bad value for 'rotate'"),
])
def test_a_stack_that_cannot_run_fails_when_it_is_built(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_augment_layer_takes_one_op_written_as_in_a_stack(real_batch):
    images = real_batch[0][:16]
    written = AugmentLayer("erasing(prob=1.0)", seed=3)
    keyword = AugmentLayer("random_erasing", seed=3, prob=1.0)
    assert (written.op, written.params) == (keyword.op, keyword.params) == ("random_erasing", {"prob": 1.0})
    np.testing.assert_array_equal(_np(written(images, training=True)), _np(keyword(images, training=True)))


def _stats(images, labels, clean):
    """Statistics that characterise the stack's output distribution."""
    changed = np.mean(np.abs(images - clean) > 1e-6, axis=(1, 2, 3))
    return np.array([images.mean(), images.std(), changed.mean(), np.mean(labels.max(1) < 1),
                     labels.max(1).mean()])


def test_device_and_host_placement_give_the_same_statistics(fmnist):
    (x, y), _ = fmnist
    x, y = x[:2048], y[:2048]
    stack = "flip,pad_crop,erasing(prob=0.5),mixup(alpha=0.4, prob=0.5)"
    clf = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(10, activation="softmax")])
    device = AugmentingTrainer(clf, stack, augment_on="device", seed=1)
    host = AugmentingTrainer(clf, stack, augment_on="host", seed=2)
    clean_ds = pipeline.make_dataset(x, y, 256, training=False)
    step = tf.function(device.augment_batch, jit_compile=True)  # as in the compiled train step
    dev = [(_np(a), _np(b), _np(c)) for c, lab in clean_ds for a, b in [step(c, lab)]]
    host_ds = pipeline.make_dataset(x, y, 256, training=False, batch_map=host.augment_batch)
    hst = [(_np(a), _np(b), _np(c)) for (a, b), (c, _) in zip(host_ds, clean_ds)]
    d = np.mean([_stats(*t) for t in dev], axis=0)
    h = np.mean([_stats(*t) for t in hst], axis=0)
    np.testing.assert_allclose(d, h, atol=0.02)
    assert d[2] > 0.3 and 0.3 < d[3] < 0.7  # the stack did change images and labels


def test_show_cli_draws_a_grid_and_never_overwrites(tmp_path, capsys):
    from fmnist_keras.augment import show

    out = tmp_path / "grid.png"
    show.main(["--augment", "cutmix", "--out", str(out), "--images", "4", "--draws", "1"])
    assert out.stat().st_size > 1000
    with pytest.raises(SystemExit):
        show.main(["--augment", "cutmix", "--out", str(out)])
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        show.main(["--augment", "zoom", "--out", str(tmp_path / "other.png")])
    assert "unknown augmentation 'zoom'" in capsys.readouterr().err

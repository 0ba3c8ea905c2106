"""Optimizer, schedule, trainer and runner: the training engine on real data."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from fmnist_keras import pipeline
from fmnist_keras.models import build_model
from fmnist_keras.training.config import TrainConfig
from fmnist_keras.training.optimizers import SGD
from fmnist_keras.training.losses import make_loss
from fmnist_keras.training.runner import fit_and_evaluate
from fmnist_keras.training.schedules import WarmupCosine, main as schedules_main, schedule_values
from fmnist_keras.training.trainer import AugmentingTrainer


@dataclasses.dataclass(frozen=True)
class TinyConfig(TrainConfig):
    """Recipes add builder knobs as fields; tests use a very narrow ResNet-18."""

    width: int = 4


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_matches_pytorch_update_rule(nesterov):
    """torch.optim.SGD: g += wd*w; buf = mu*buf + g; w -= lr*(g + mu*buf if nesterov else buf)."""
    w0 = np.array([1.0, -2.0, 0.5], "float32")
    grads = [np.array([0.1, 0.2, -0.3], "float32"), np.array([-0.4, 0.0, 0.2], "float32"),
             np.array([0.3, -0.1, 0.1], "float32")]
    lrs = [0.1, 0.05, 0.2]  # a changing rate is where PyTorch and Keras momentum differ
    var = keras.Variable(w0)

    class Steps(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return keras.ops.take(keras.ops.convert_to_tensor(lrs), step)

    opt = SGD(learning_rate=Steps(), momentum=0.9, nesterov=nesterov, l2=5e-4)
    w, buf = w0.astype("float64"), np.zeros(3)
    for g, lr in zip(grads, lrs):
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), var)])
        d = g + 5e-4 * w
        buf = 0.9 * buf + d
        w = w - lr * (d + 0.9 * buf if nesterov else buf)
    np.testing.assert_allclose(var.numpy(), w, rtol=1e-5)
    restored = SGD.from_config(SGD(0.1, momentum=0.9, nesterov=True, l2=1e-3).get_config())
    assert (restored.momentum, restored.nesterov, restored.l2) == (0.9, True, 1e-3)


def test_sgd_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Received: momentum=1.5"):
        SGD(0.1, momentum=1.5)
    with pytest.raises(ValueError, match="Received: l2=-1"):
        SGD(0.1, l2=-1)


def test_three_phase_schedule_values():
    """Report 000 in steps: warmup 10 from 0.01 to 0.1, cosine 100, restarts 10 from 0.001 (2 cycles)."""
    s = WarmupCosine(0.1, warmup_steps=10, cosine_steps=100, warmup_start=0.01,
                     restart_steps=10, restart_lr=0.001, restart_cycle_steps=5)
    lr = lambda step: float(s(step))
    assert lr(0) == pytest.approx(0.01)
    assert lr(5) == pytest.approx(0.055)
    assert lr(10) == pytest.approx(0.1)
    assert lr(60) == pytest.approx(0.05, rel=1e-5)  # half-way through the cosine
    assert lr(109) == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 99 / 100)), rel=1e-4)
    assert lr(110) == pytest.approx(0.001)  # warm retrain starts
    assert lr(115) == pytest.approx(0.001)  # restart
    assert lr(112) < lr(111) < 0.001
    assert lr(120) == 0.0 and lr(500) == 0.0
    again = WarmupCosine.from_config(s.get_config())
    assert float(again(60)) == pytest.approx(lr(60))
    with pytest.raises(ValueError, match="Received: cosine_steps=0"):
        WarmupCosine(0.1, 0, 0)


def _tiny_trainer(augment="", augment_on="device"):
    classifier = build_model("resnet18", width=4)
    trainer = AugmentingTrainer(classifier, augment, augment_on, seed=0)
    trainer.compile(optimizer=SGD(0.05, momentum=0.9), loss=keras.losses.CategoricalCrossentropy(),
                    metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    return classifier, trainer


def test_trainer_augments_training_only_and_saves_plain_classifier(fmnist, tmp_path):
    (x, y), (xt, yt) = fmnist
    classifier, trainer = _tiny_trainer("erasing(prob=1.0),ricap")
    ds = pipeline.make_dataset(x[:512], y[:512], 64, training=True)
    history = trainer.fit(ds, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    test_ds = pipeline.make_dataset(xt[:500], yt[:500], 250, training=False)
    first = trainer.evaluate(test_ds, verbose=0, return_dict=True)
    second = trainer.evaluate(test_ds, verbose=0, return_dict=True)
    assert first == second  # evaluation never augments
    probs = classifier.predict(xt[:500, ..., None] / 255.0, verbose=0)
    assert first["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == yt[:500]), abs=1e-6)
    classifier.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert reloaded.name == "resnet18"  # the classifier, not the trainer
    np.testing.assert_allclose(reloaded.predict(xt[:8, ..., None] / 255.0, verbose=0), probs[:8], atol=1e-6)


def test_host_placement_gets_label_rows(fmnist):
    (x, y), _ = fmnist
    _, trainer = _tiny_trainer("ricap", augment_on="host")
    ds = pipeline.make_dataset(x[:256], y[:256], 64, training=True, batch_map=trainer.augment_batch)
    images, rows = next(iter(ds))
    assert rows.shape == (64, 10)
    np.testing.assert_allclose(rows.numpy().sum(1), 1.0, atol=1e-6)
    assert np.mean(rows.numpy().max(1) < 1) > 0.3  # mixed rows: RICAP ran on the host
    history = trainer.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_config_validates_every_field():
    for bad, match in [(dict(epochs=-1), "Received: epochs=-1"), (dict(batch_size=0), "batch_size=0"),
                       (dict(lr=0.0), "Received: lr=0.0"), (dict(model="nope"), "unknown model 'nope'"),
                       (dict(augment="zoom"), "unknown augmentation 'zoom'"),
                       (dict(optimizer="lion"), "Received: optimizer='lion'"),
                       (dict(epochs=10, warmup_epochs=10), "warmup_epochs")]:
        with pytest.raises(ValueError, match=match):
            TrainConfig(**bad)


def test_fit_and_evaluate_writes_the_run_folder(tmp_path):
    config = TinyConfig(width=8, epochs=2, batch_size=64, lr=0.05, limit_train=512,
                         val_size=500, clean_train_size=256, patience=5, augment="erasing,ricap",
                         warmup_epochs=0.5, output_dir=str(tmp_path / "run"))
    results = fit_and_evaluate(config, recipe="test", verbose=0)
    run = tmp_path / "run"
    for name in ("config.json", "history.csv", "results.json", "model.keras", "curves.png",
                 "confusion.png", "lr.png"):
        assert (run / name).is_file(), name
    saved = json.loads((run / "results.json").read_text())
    assert saved["test_accuracy"] == results.test_accuracy
    assert saved["epochs_run"] == 2 and saved["train_images"] == 512
    assert {"tensorflow", "keras", "device", "train_images_per_second", "best_val_accuracy"} <= set(saved)
    header = (run / "history.csv").read_text().splitlines()[0].split(",")
    assert {"accuracy", "clean_accuracy", "val_accuracy", "loss", "clean_loss", "val_loss"} <= set(header)
    # results.json agrees with an independent evaluation of model.keras on the full test set.
    from fmnist_keras.data import load_fashion_mnist
    _, (xt, yt) = load_fashion_mnist()
    model = keras.saving.load_model(run / "model.keras")
    acc = np.mean(model.predict(xt[..., None] / 255.0, batch_size=1000, verbose=0).argmax(1) == yt)
    assert acc == pytest.approx(saved["test_accuracy"], abs=1e-4)
    # A second run into the same folder is refused and leaves the first intact.
    before = (run / "results.json").read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        fit_and_evaluate(config, recipe="test", verbose=0)
    assert (run / "results.json").read_bytes() == before


def test_schedule_family_values():
    base = TrainConfig(epochs=40, lr=0.1)
    _, sgdr = schedule_values(base.replace(schedule="sgdr", sgdr_first_epochs=10, sgdr_t_mul=2.0), 10)
    assert sgdr[0] == pytest.approx(0.1) and sgdr[99] < 0.001  # end of the first 10-epoch cycle
    assert sgdr[100] == pytest.approx(0.1)  # warm restart, then a cycle twice as long
    assert sgdr[299] < 0.001 and sgdr[200] == pytest.approx(0.05, rel=1e-3)
    _, step = schedule_values(base.replace(schedule="step", step_epochs=15, step_gamma=0.1), 10)
    assert step[149] == pytest.approx(0.1) and step[150] == pytest.approx(0.01)
    assert step[300] == pytest.approx(0.001)
    _, const = schedule_values(base.replace(schedule="constant"), 10)
    assert set(const) == {0.1}


def test_schedule_plot_cli(tmp_path, capsys):
    out = tmp_path / "lr.png"
    schedules_main(["--recipe", "resnet_erasing", "--out", str(out)])
    assert out.stat().st_size > 10000
    with pytest.raises(SystemExit):
        schedules_main(["--recipe", "resnet_erasing", "--out", str(out)])
    assert "already exists" in capsys.readouterr().err


def test_losses_by_name():
    rows = np.array([[0.0, 1.0], [0.5, 0.5]], "float32")
    probs = np.array([[0.2, 0.8], [0.6, 0.4]], "float32")
    ce = float(make_loss("ce")(rows, probs))
    assert ce == pytest.approx(-(np.log(0.8) + 0.5 * np.log(0.6) + 0.5 * np.log(0.4)) / 2, rel=1e-5)
    assert float(make_loss("nll")(rows, probs)) == pytest.approx(ce)
    assert float(make_loss("mse")(rows, probs)) == pytest.approx(np.mean((rows - probs) ** 2), rel=1e-5)
    assert make_loss("auto", head="sigmoid").name == "bce"
    with pytest.raises(ValueError, match="Received: loss='mse'"):
        make_loss("mse", head="sigmoid")
    with pytest.raises(ValueError, match="Received: loss='hinge'"):
        make_loss("hinge")


def test_repeats_report_mean_and_std(tmp_path):
    config = TinyConfig(epochs=1, batch_size=64, lr=0.01, limit_train=256,
                         val_size=0, clean_train_size=0, repeats=2, optimizer="adam",
                         output_dir=str(tmp_path / "rep"))
    results = fit_and_evaluate(config, recipe="test", verbose=0)
    assert results.repeats == 2 and len(results.test_accuracies) == 2
    assert results.test_accuracy == pytest.approx(np.mean(results.test_accuracies))
    assert (tmp_path / "rep" / "seed0" / "model.keras").is_file()
    assert (tmp_path / "rep" / "seed1" / "results.json").is_file()
    assert json.loads((tmp_path / "rep" / "results.json").read_text())["test_accuracy_std"] >= 0


def test_nan_loss_stops_with_a_useful_message(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class MlpConfig(TrainConfig):
        hidden: tuple = (32,)

    config = MlpConfig(model="mlp", epochs=3, batch_size=64, lr=1e12, optimizer="sgd", schedule="constant",
                       limit_train=512, val_size=500, clean_train_size=0, output_dir=str(tmp_path / "nan"))
    with pytest.raises(FloatingPointError, match=r"loss became nan in epoch 1, batch \d+: try a lower --lr"):
        fit_and_evaluate(config, verbose=0)


def test_several_steps_per_call_train_the_same_as_one(tmp_path):
    """`steps_per_execution` only changes how steps are dispatched: same batches, same updates."""
    runs = {}
    for spe in (1, 4):
        config = TinyConfig(width=4, epochs=2, batch_size=64, lr=0.05, limit_train=512, val_size=500,
                            clean_train_size=0, augment="flip", steps_per_execution=spe,
                            output_dir=str(tmp_path / f"spe{spe}"))
        runs[spe] = fit_and_evaluate(config, recipe="test", verbose=0)
    history = {spe: (tmp_path / f"spe{spe}" / "history.csv").read_text() for spe in runs}
    one, four = ([float(v) for line in history[s].splitlines()[1:] for v in line.split(",")] for s in (1, 4))
    np.testing.assert_allclose(one, four, rtol=1e-5)
    assert runs[1].test_accuracy == pytest.approx(runs[4].test_accuracy, abs=1e-4)


def test_steps_per_execution_that_straddles_epochs_is_refused(tmp_path):
    config = TinyConfig(width=4, epochs=1, batch_size=64, limit_train=512, val_size=500, steps_per_execution=3,
                        output_dir=str(tmp_path / "r"))
    with pytest.raises(ValueError, match=r"steps_per_execution must divide the 8 steps of an epoch"):
        fit_and_evaluate(config, recipe="test", verbose=0)
    assert not (tmp_path / "r").exists()


def test_device_resident_data_is_refused_where_it_cannot_run(tmp_path):
    config = TinyConfig(width=4, epochs=1, limit_train=512, val_size=500, data_on="device",
                        output_dir=str(tmp_path / "r"))
    with pytest.raises(ValueError, match="data_on='device' keeps the training images on the one device of a JAX"):
        fit_and_evaluate(config, recipe="test", verbose=0)
    assert not (tmp_path / "r").exists()

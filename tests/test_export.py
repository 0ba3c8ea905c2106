"""Export round trips: SavedModel serves exactly what Keras computes with training=False, TFLite
float agrees, int8 is calibrated on real 1-channel images, inputs of both dtypes and ranks work,
bad inputs and existing folders are refused with one clear message."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from fmnist_keras import export
from fmnist_keras.models import build_model


def train_small(fmnist, name="cnn4", steps=150, batch=64, **knobs):
    """A classifier trained `steps` Adam steps on real images (so BatchNorm statistics are real)."""
    (x, y), _ = fmnist
    keras.utils.set_random_seed(0)
    model = build_model(name, **knobs)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    n = steps * batch
    model.fit(x[:n, :, :, None].astype("float32") / 255.0, y[:n], batch_size=batch, epochs=1, verbose=0)
    return model


def keras_probs(model, pixels):
    return np.asarray(model(pixels.reshape((-1, 28, 28, 1)).astype("float32") / 255.0, training=False))


@pytest.fixture(scope="module")
def cnn(fmnist):
    return train_small(fmnist)


@pytest.fixture(scope="module")
def cnn_export(cnn, tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn") / "export"
    report = export.export_model(cnn, out, test_limit=1000, latency_runs=3)
    return out, report


def test_report_meets_the_bars(cnn_export):
    out, report = cnn_export
    assert json.loads((out / export.REPORT).read_text()) == report
    assert (out / "labels.txt").read_text().splitlines()[9] == "Ankle boot"
    rows = report["formats"]
    assert set(rows) == set(export.FORMATS) and report["test_images"] == 1000
    assert report["keras"]["accuracy"] > 0.75  # a real, if briefly trained, model
    for fmt in ("savedmodel", "tflite"):
        assert rows[fmt]["passed"] and rows[fmt]["agreement"] >= 0.999
        assert rows[fmt]["max_abs_prob_diff"] < 1e-4, fmt
    assert rows["tflite-fp16"]["agreement"] >= 0.99
    assert rows["tflite-int8"]["accuracy_drop"] <= 0.02  # the 0.5-point bar is judged on 10,000 images
    assert rows["tflite-int8"]["size_bytes"] < rows["tflite"]["size_bytes"] / 2
    text = export.format_report(report)
    assert "| tflite-int8 |" in text and "agreement" in text


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("channel_axis", [True, False])
def test_savedmodel_serves_keras_inference(cnn, cnn_export, fmnist, dtype, channel_axis):
    _, (x_test, _) = fmnist
    pixels = x_test[:64]
    loaded = tf.saved_model.load(str(cnn_export[0] / "savedmodel"))
    probs, class_id = export.serve(loaded, (pixels[..., None] if channel_axis else pixels).astype(dtype))
    expected = keras_probs(cnn, pixels)
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    np.testing.assert_array_equal(class_id, expected.argmax(axis=1))
    # The named signature, as TF Serving would call it.
    name = {("float32", True): "serving_default", ("uint8", True): "serving_uint8",
            ("float32", False): "serving_float32_hw", ("uint8", False): "serving_uint8_hw"}[dtype, channel_axis]
    out = loaded.signatures[name](pixels=tf.constant(pixels[..., None] if channel_axis else pixels, dtype))
    assert set(out) == {"probabilities", "class_id"} and out["class_id"].dtype == tf.int64


def test_tflite_files_take_raw_pixels(cnn, cnn_export, fmnist):
    _, (x_test, _) = fmnist
    pixels, expected = x_test[:32], keras_probs(cnn, x_test[:32])
    for name, atol in (("model_float32.tflite", 1e-5), ("model_fp16.tflite", 2e-2)):
        runner = export.TFLiteRunner(cnn_export[0] / name)
        np.testing.assert_allclose(runner(pixels), expected, atol=atol)  # (B, 28, 28)
        np.testing.assert_allclose(runner(pixels[..., None].astype("float32")), expected, atol=atol)
    int8 = export.TFLiteRunner(cnn_export[0] / "model_int8.tflite")
    details = int8.interpreter.get_input_details()[0]
    assert details["dtype"] == np.uint8 and tuple(details["shape"][1:]) == (28, 28, 1)
    scale, zero = details["quantization"]
    assert scale == pytest.approx(1.0) and zero == 0  # calibrated on 0-255 1-channel images: the raw bytes
    assert (int8(pixels).argmax(1) == expected.argmax(1)).mean() >= 0.9


def test_bad_inputs_are_rejected_clearly(cnn_export):
    loaded = tf.saved_model.load(str(cnn_export[0] / "savedmodel"))
    with pytest.raises(ValueError, match=r"shape \(B, 28, 28\) or \(B, 28, 28, 1\). Received: shape=\(2, 28, 28, 3\)"):
        export.serve(loaded, np.zeros((2, 28, 28, 3), "uint8"))
    with pytest.raises(ValueError, match="Received: shape=\\(28, 28\\)"):
        export.serve(loaded, np.zeros((28, 28), "float32"))
    with pytest.raises(ValueError, match="must be uint8 or float. Received: dtype=<U1"):
        export.serve(loaded, np.full((1, 28, 28), "a"))
    with pytest.raises(ValueError, match="Received: shape=\\(1, 32, 32\\), dtype=uint8"):
        export.TFLiteRunner(cnn_export[0] / "model_float32.tflite")(np.zeros((1, 32, 32), "uint8"))
    with pytest.raises(ValueError, match="formats must be a non-empty list of savedmodel"):
        export.parse_formats("savedmodel,onnx")
    with pytest.raises(ValueError, match="expected a keras.Model, a .keras file or a run folder"):
        export.load_classifier(cnn_export[0])


def test_never_overwrites_silently(cnn, tmp_path):
    out = tmp_path / "e"
    export.export_model(cnn, out, formats="tflite", verify=False)
    with pytest.raises(FileExistsError, match="already exists; exports are never overwritten silently"):
        export.export_model(cnn, out, formats="tflite", verify=False)
    (out / export.REPORT).write_text("{}")
    export.export_model(cnn, out, formats="tflite", verify=False, overwrite=True)
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="is not an export folder"):
        export.export_model(cnn, precious, formats="tflite", overwrite=True, verify=False)
    assert (precious / "notes.txt").read_text() == "keep"


def test_a_failed_export_leaves_no_folder(cnn, tmp_path):
    with pytest.raises(Exception, match="does not exist"):  # no data to calibrate int8 with
        export.export_model(cnn, tmp_path / "e", formats="tflite-int8", data_dir="/no/such/folder")
    assert not (tmp_path / "e").exists()


def test_cli_exports_a_run_folder(cnn, tmp_path, capsys):
    run = tmp_path / "runs" / "cnn2_tuned" / "20260101-000000"
    run.mkdir(parents=True)
    cnn.save(run / "model.keras")
    report = export.main([str(run), "--formats", "tflite", "--out", str(tmp_path / "out")])
    assert report["test_images"] == 10000 and report["formats"]["tflite"]["passed"]
    assert "| tflite |" in capsys.readouterr().out
    assert export.default_out_dir(run).as_posix() == "saved_models/cnn2_tuned-20260101-000000"
    for argv, message in (([str(run), "--out", str(tmp_path / "out")], "already exists"),
                          ([str(run), "--formats", "coreml"], "Received: formats='coreml'"),
                          ([str(tmp_path / "nothing.h5")], "expected a keras.Model, a .keras file")):
        with pytest.raises(SystemExit) as info:
            export.main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert info.value.code == 2 and err[-1].startswith("export: error: ") and message in err[-1]


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["batch", "frn"])
def test_resnet18_round_trip(fmnist, norm, tmp_path):
    model = train_small(fmnist, "resnet18", steps=20, width=8, norm=norm)
    report = export.export_model(model, tmp_path / norm, formats="savedmodel,tflite,tflite-int8",
                                 test_limit=300, latency_runs=3)
    rows = report["formats"]
    for fmt in ("savedmodel", "tflite"):
        assert rows[fmt]["agreement"] >= 0.999 and rows[fmt]["max_abs_prob_diff"] < 1e-4, (fmt, rows[fmt])
    assert (tmp_path / norm / "model_int8.tflite").stat().st_size > 0
    _, (x_test, _) = fmnist
    loaded = tf.saved_model.load(str(tmp_path / norm / "savedmodel"))
    np.testing.assert_allclose(export.serve(loaded, x_test[:16])[0], keras_probs(model, x_test[:16]), atol=1e-5)


def test_recipes_export_full_runs_only():
    from fmnist_keras.recipes import _cli, cnn2_tuned

    parser = _cli.build_parser(cnn2_tuned.Config, "", "")

    def config(*flags):
        return _cli.config_from_args(cnn2_tuned.Config, parser.parse_args(list(flags)), cnn2_tuned.QUICK)

    assert config().export and not config("--quick").export and not config("--limit-train", "512").export
    assert config("--quick", "--export").export and not config("--no-export").export


@pytest.mark.slow
def test_recipe_with_export_writes_run_export(tmp_path, capsys):
    from fmnist_keras.recipes import resnet_erasing

    out = tmp_path / "run"
    results = resnet_erasing.main(["--model", "cnn4", "--limit-train", "512", "--epochs", "1", "--val-size", "500",
                                   "--clean-train-size", "0", "--batch-size", "64", "--export", "--output-dir", str(out)])
    report = json.loads((out / "export" / export.REPORT).read_text())
    assert report["test_images"] == 10000 and set(report["formats"]) == set(export.FORMATS)
    saved = json.loads((out / "results.json").read_text())
    assert saved["export"] == results.export and saved["export"]["formats"]["tflite"]["passed"]
    assert "| tflite-int8 |" in capsys.readouterr().out


def test_export_stage_exports_only_when_the_config_asks():
    """The runner knows nothing of shipping: a recipe passes this stage, which acts on `config.export`."""
    from types import SimpleNamespace

    from fmnist_keras.recipes import _cli

    assert export.export_stage(None, "unused", SimpleNamespace(export=False)) == {}
    assert _cli.export_stage(None, "unused", SimpleNamespace(export=False)) == {}
    assert _cli.FINISH == (_cli.export_stage,)

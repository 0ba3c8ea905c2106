"""`python -m fmnist_keras.predict` on real test images saved as files, with every model kind."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmnist_keras import export, predict
from test_export import keras_probs, train_small


@pytest.fixture(scope="module")
def models(fmnist, tmp_path_factory):
    """A briefly trained CNN as .keras, run folder, export folder (SavedModel) and .tflite."""
    root = tmp_path_factory.mktemp("predict")
    model = train_small(fmnist)
    run = root / "run"
    run.mkdir()
    model.save(run / "model.keras")
    export.export_model(model, root / "export", formats="savedmodel,tflite", verify=False)
    return model, {"keras": run / "model.keras", "run": run, "savedmodel": root / "export" / "savedmodel",
                   "export": root / "export", "tflite": root / "export" / "model_float32.tflite"}


@pytest.fixture(scope="module")
def pngs(fmnist, models, tmp_path_factory):
    """The first 20 test images as PNG files, with their labels and the Keras predictions."""
    _, (x_test, y_test) = fmnist
    folder = tmp_path_factory.mktemp("png")
    files = []
    for i in range(20):
        files.append(folder / f"test{i:02d}.png")
        Image.fromarray(x_test[i]).save(files[-1])
    return files, y_test[:20], keras_probs(models[0], x_test[:20]).argmax(1)


def run_json(argv, capsys):
    answers = predict.main([*argv, "--json"])
    assert json.loads(capsys.readouterr().out) == answers
    return answers


@pytest.mark.parametrize("kind", ["keras", "run", "savedmodel", "export", "tflite"])
def test_every_model_kind_gives_the_true_labels(models, pngs, kind, capsys):
    files, labels, keras_top1 = pngs
    answers = run_json([str(models[1][kind]), *map(str, files)], capsys)
    top1 = np.array([a["top"][0]["class_id"] for a in answers])
    np.testing.assert_array_equal(top1, keras_top1)  # predict == Keras, file by file
    right = keras_top1 == labels
    assert right.sum() >= 15  # a real model: accuracy on the 20 images
    np.testing.assert_array_equal(top1[right], labels[right])  # images Keras gets right stay right
    assert all(len(a["top"]) == 3 and a["notes"] == ["kept as is: already a 28x28 light-on-dark image"]
               for a in answers)
    probs = [t["probability"] for t in answers[0]["top"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001


def test_text_output_names_top3(models, pngs, capsys):
    files, labels, _ = pngs
    predict.main([str(models[1]["keras"]), str(files[0])])
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{files[0]}: Ankle boot ") and line.count("%") == 3  # test image 0 is a boot


def test_any_size_colour_and_polarity(models, fmnist, tmp_path, capsys):
    _, (x_test, y_test) = fmnist
    model = models[0]
    i = int(np.flatnonzero(keras_probs(model, x_test[:50]).argmax(1) == y_test[:50])[0])
    big = np.asarray(Image.fromarray(x_test[i]).resize((84, 84), Image.Resampling.BICUBIC))
    photo = np.stack([255 - big] * 3, axis=-1)  # dark garment on white paper, RGB, 84x84
    Image.fromarray(photo).save(tmp_path / "photo.png")
    np.save(tmp_path / "float01.npy", x_test[i].astype("float32") / 255.0)
    np.save(tmp_path / "rgb.npy", np.stack([x_test[i]] * 3, axis=-1))
    inputs = [str(tmp_path / "photo.png"), str(tmp_path / "float01.npy"), str(tmp_path / "rgb.npy")]
    answers = run_json([str(models[1]["tflite"]), *inputs, "--convert", "resize"], capsys)
    assert [a["top"][0]["class_id"] for a in answers] == [y_test[i]] * 3
    assert answers[0]["notes"] == ["converted colour to grayscale", "inverted (dark on light)",
                                   "resized 84x84 -> 28x28"]
    assert answers[1]["notes"] == ["scaled 0-1 values to 0-255"]
    [kept] = run_json([str(models[1]["tflite"]), str(tmp_path / "photo.png"), "--invert", "no",
                       "--convert", "resize"], capsys)
    assert "inverted (dark on light)" not in kept["notes"]
    answers = run_json([str(models[1]["tflite"]), *inputs], capsys)  # --convert fashion-mnist, the default
    assert [a["top"][0]["class_id"] for a in answers] == [y_test[i]] * 3
    assert answers[0]["notes"][-1] == "negated (dark garment on a light background)"
    assert answers[1]["notes"] == ["scaled 0-1 values to 0-255", "kept as is: already a 28x28 light-on-dark image"]
    [forced] = run_json([str(models[1]["tflite"]), inputs[0], "--invert", "no"], capsys)
    assert forced["notes"][-1] == "not negated (forced)"


def test_bad_files_are_one_line_each_and_others_answered(models, pngs, tmp_path, capsys):
    files, labels, _ = pngs
    (tmp_path / "broken.png").write_text("not an image")
    np.save(tmp_path / "batch.npy", np.zeros((5, 28, 28), "uint8"))
    np.save(tmp_path / "big.npy", np.full((28, 28), 1000.0))
    bad = [tmp_path / "broken.png", tmp_path / "batch.npy", tmp_path / "big.npy", tmp_path / "missing.jpg"]
    with pytest.raises(SystemExit) as info:
        predict.main([str(models[1]["savedmodel"]), str(bad[0]), str(files[0]), *map(str, bad[1:])])
    assert info.value.code == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("predict: error: ") for line in err)
    assert "cannot read" in err[0] and "broken.png" in err[0]
    assert "expected an image array (H, W) or (H, W, 1|3|4). Received: shape=(5, 28, 28)" in err[1]
    assert "Received: min=1000, max=1000" in err[2] and "missing.jpg" in err[3]
    assert captured.out.startswith(f"{files[0]}: Ankle boot")  # the good file is still answered


def test_wrong_model_kind_exits_2(tmp_path, pngs, capsys):
    (tmp_path / "model.txt").write_text("no")
    with pytest.raises(SystemExit) as info:
        predict.main([str(tmp_path / "model.txt"), str(pngs[0][0])])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1
    assert err[0].startswith("predict: error: expected a .keras file, a run folder, a SavedModel")


def product_photo_files(fmnist, folder, count):
    """The first `count` test images as JPEG product photos (benchmarks/product_photos.py), and labels."""
    from test_photo import product_photos

    _, (x_test, y_test) = fmnist
    rng = np.random.default_rng(1)
    files = []
    for i in range(count):
        files.append(folder / f"photo{i}.jpg")
        files[-1].write_bytes(product_photos.product_photo(x_test[i], rng))
    return files, y_test[:count]


def test_product_photos_are_converted_like_the_dataset(models, fmnist, tmp_path, capsys):
    files, labels = product_photo_files(fmnist, tmp_path, 20)
    args = [str(models[1]["keras"]), *map(str, files)]
    converted = np.array([a["top"][0]["class_id"] for a in run_json(args, capsys)])
    resized = np.array([a["top"][0]["class_id"] for a in run_json([*args, "--convert", "resize"], capsys)])
    assert (converted == labels).sum() >= 15 > (resized == labels).sum()
    [answer] = run_json(args[:2], capsys)
    assert [note.split(" ")[0] for note in answer["notes"]] == [
        "converted", "background", "trimmed", "subsampled", "sharpened", "extended", "negated"]


def test_show_draws_one_row_per_file_and_never_overwrites(models, fmnist, pngs, tmp_path, capsys):
    files, _ = product_photo_files(fmnist, tmp_path, 2)
    (tmp_path / "blank.png").write_bytes(b"")
    out = tmp_path / "figs" / "saw.png"
    argv = [str(models[1]["keras"]), *map(str, files), str(pngs[0][0]), str(tmp_path / "blank.png"), "--show",
            str(out)]
    with pytest.raises(SystemExit) as info:  # the empty file is an error row, the others are answered
        predict.main(argv)
    assert info.value.code == 1
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.height > picture.width  # four rows of three panels
    before = out.read_bytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        predict.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and f"{out} already exists" in err and "--overwrite" in err
    assert out.read_bytes() == before
    answers = run_json([*argv[:-3], "--show", str(out), "--overwrite"], capsys)
    assert len(answers) == 3 and "pixels" not in answers[0]  # JSON stays plain
    with pytest.raises(SystemExit) as info:
        predict.main([*argv[:2], "--show", str(tmp_path / "saw.jpg")])
    assert info.value.code == 2 and "--show must name a .png file" in capsys.readouterr().err


def test_odd_photos_get_one_message_each_or_a_documented_conversion(models, fmnist, tmp_path, capsys):
    from test_photo import png_declaring

    _, (x_test, _) = fmnist
    garment = np.kron(255 - x_test[0], np.ones((4, 4), "uint8"))
    canvas = np.pad(garment, ((10, 30), (40, 5)), constant_values=255)
    rgba = np.zeros(canvas.shape + (4,), "uint8")
    rgba[..., 3] = 255 - canvas  # a black cut-out on transparency
    Image.fromarray(canvas).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(canvas.astype("uint16") * 257).save(tmp_path / "deep16.png")
    Image.fromarray(rgba).save(tmp_path / "cutout.png")
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90 degrees counter-clockwise to display
    Image.fromarray(canvas).rotate(-90, expand=True).save(tmp_path / "sideways.jpg", exif=exif)
    good = ["cmyk.jpg", "deep16.png", "cutout.png", "sideways.jpg"]
    Image.new("RGB", (64, 48), (250, 250, 250)).save(tmp_path / "blank.png")
    Image.new("RGBA", (64, 48), (0, 0, 0, 0)).save(tmp_path / "transparent.png")
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    Image.fromarray(np.array([[0, 255, 0], [255, 0, 255]], "uint8")).save(tmp_path / "tiny.png")
    (tmp_path / "bomb.png").write_bytes(png_declaring(100_000, 100_000))
    bad = {"blank.png": "single colour", "transparent.png": "fully transparent",
           "dot.png": "Received: size=1x1", "tiny.png": "Received: size=3x2", "bomb.png": "too many pixels"}
    with pytest.raises(SystemExit) as info:
        predict.main([str(models[1]["keras"]), *(str(tmp_path / n) for n in [*bad, *good]), "--json"])
    assert info.value.code == 1
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == len(bad) and "Traceback" not in captured.err
    for line, (name, message) in zip(errors, bad.items()):
        assert line.startswith("predict: error: ") and name in line and message in line
    answers = [a for a in json.loads(captured.out) if "top" in a]
    assert [Path(a["file"]).name for a in answers] == good
    assert {a["top"][0]["class"] for a in answers} == {"Ankle boot"}  # test image 0, every way it was stored
    notes = {Path(a["file"]).name: a["notes"] for a in answers}
    assert notes["cmyk.jpg"][0] == "converted CMYK to RGB"
    assert notes["deep16.png"][0].startswith("converted 16-bit")
    assert notes["cutout.png"][0] == "composited transparency onto the background (RGB 255/255/255)"
    assert notes["sideways.jpg"][0] == "rotated upright (EXIF orientation)"


def test_product_photo_benchmark_prints_both_accuracies(models, tmp_path, capsys):
    from test_photo import product_photos

    accuracy = product_photos.main(["--model", str(models[1]["run"]), "--limit", "20", "--save", str(tmp_path)])
    out = capsys.readouterr().out
    assert set(accuracy[str(models[1]["run"])]) == {"as they are", "fashion-mnist", "resize"}
    assert "--convert fashion-mnist:" in out and "--convert resize" in out and "as product photos" in out
    assert len(list(tmp_path.glob("photo*.jpg"))) == 8
    with pytest.raises(FileExistsError):  # the photos it saves never replace files
        product_photos.main(["--model", str(models[1]["run"]), "--limit", "20", "--save", str(tmp_path)])

"""The IDX reader on the real files, and on real files damaged in each way it must catch."""

import gzip
import shutil

import numpy as np
import pytest

from fmnist_keras import data
from fmnist_keras.data import DataError, load_fashion_mnist

SOURCE = data.find_idx_dir()


def test_real_data_shapes_and_classes(fmnist):
    (x_train, y_train), (x_test, y_test) = fmnist
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert len(data.CLASS_NAMES) == 10
    # The pixel statistics the models normalize with are those of this training set.
    assert abs(x_train.mean() / 255 - data.PIXEL_MEAN) < 1e-3
    assert abs(x_train.std() / 255 - data.PIXEL_STD) < 1e-3


@pytest.fixture
def copied(tmp_path):
    """A writable copy of the real files, decompressed, in a fresh folder."""
    for name in data.FILES:
        src = data._idx_path(SOURCE, name)
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as f, open(tmp_path / name, "wb") as out:
            shutil.copyfileobj(f, out)
    return tmp_path


def test_reads_uncompressed_copy_and_env_var(copied, monkeypatch, fmnist):
    monkeypatch.setenv(data.ENV_VAR, str(copied))
    assert data.default_data_dirs()[0] == copied
    (x, y), (xt, yt) = load_fashion_mnist(source="idx")
    np.testing.assert_array_equal(y, fmnist[0][1])
    np.testing.assert_array_equal(xt, fmnist[1][0])


def _rewrite(path, fn):
    raw = bytearray(path.read_bytes())
    path.write_bytes(bytes(fn(raw)))


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[: len(raw) // 2], "truncated or padded"),
    (lambda raw: raw + b"\0", "truncated or padded"),
    (lambda raw: b"\0\0\x08\x05" + raw[4:], "bad magic number"),
    (lambda raw: raw[:10], "truncated header"),
    (lambda raw: raw[:6], "no IDX header"),
])
def test_structural_damage_names_the_file(copied, damage, message):
    path = copied / "t10k-images-idx3-ubyte"
    _rewrite(path, damage)
    with pytest.raises(DataError, match=message) as info:
        load_fashion_mnist(copied)
    assert "t10k-images-idx3-ubyte" in str(info.value) and "apt-get install" in str(info.value)


def test_changed_pixel_fails_digest_unless_verify_off(copied):
    path = copied / "t10k-images-idx3-ubyte"
    _rewrite(path, lambda raw: raw[:-1] + bytes([raw[-1] ^ 0xFF]))
    with pytest.raises(DataError, match="SHA-256.*not the official"):
        load_fashion_mnist(copied)
    _, (x_test, _) = load_fashion_mnist(copied, verify=False)
    assert x_test.shape == (10000, 28, 28)


def test_label_out_of_range_and_count_mismatch(copied):
    _rewrite(copied / "t10k-labels-idx1-ubyte", lambda raw: raw[:-1] + b"\x0c")
    with pytest.raises(DataError, match="label 12 found"):
        load_fashion_mnist(copied, verify=False)
    shutil.copy(data._idx_path(SOURCE, "t10k-labels-idx1-ubyte"), copied / "t10k-labels-idx1-ubyte.gz")
    (copied / "t10k-labels-idx1-ubyte").unlink()
    _rewrite(copied / "t10k-images-idx3-ubyte",
             lambda raw: raw[:4] + (9999).to_bytes(4, "big") + raw[8:-784])
    with pytest.raises(DataError, match="9999 images but 10000 labels"):
        load_fashion_mnist(copied, verify=False)


def test_corrupt_gzip_and_missing_files(copied, tmp_path_factory):
    (copied / "t10k-labels-idx1-ubyte").unlink()
    (copied / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="cannot be read"):
        data.load_idx_dir(copied)
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(DataError, match="file not found"):
        data.load_idx_dir(empty)
    with pytest.raises(DataError, match="does not exist"):
        load_fashion_mnist(empty / "nope")


def test_bad_source_is_value_error():
    with pytest.raises(ValueError, match="Received: source='web'"):
        load_fashion_mnist(source="web")

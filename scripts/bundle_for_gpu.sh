#!/usr/bin/env bash
# Packs what a GPU machine without TensorFlow (and without a package index) needs
# to train with KERAS_BACKEND=jax: Keras and its two small pure dependencies as
# wheels for that machine's Python, this package as a wheel, and the four IDX files.
#
#   bash scripts/bundle_for_gpu.sh OUT_DIR [PYTHON_VERSION]   # default 3.12
#
# On the GPU machine (it needs JAX, NumPy, h5py, ml-dtypes, rich, absl-py and matplotlib already):
#   python3 -m pip install --no-index --no-deps --target /tmp/site OUT_DIR/wheels/*.whl
#   export PYTHONPATH=/tmp/site KERAS_BACKEND=jax FMNIST_DATA_DIR=OUT_DIR/data
#   python3 -m fmnist_keras.recipes.speedrun
set -euo pipefail
out=${1:?usage: bash scripts/bundle_for_gpu.sh OUT_DIR [PYTHON_VERSION]}
pyver=${2:-3.12}
here=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
[ -x "$here/.venv/bin/python" ] && py="$here/.venv/bin/python"
keras_version=$("$py" -c "import keras; print(keras.__version__)" 2>/dev/null || echo "")
mkdir -p "$out/wheels" "$out/data"
platforms=""
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
  platforms="$platforms --platform $p"
done
# Keras (the version this checkout is tested with), namex and optree, for the target Python.
# shellcheck disable=SC2086
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp \
  $platforms -d "$out/wheels" "keras${keras_version:+==$keras_version}" namex optree
"$py" -m pip wheel -q --no-deps --no-build-isolation -w "$out/wheels" "$here"
# The data: wherever scripts/get_data.sh finds it.
bash "$here/scripts/get_data.sh" >/dev/null
for dir in "${FMNIST_DATA_DIR:-}" /usr/share/datasets/fashion-mnist "$HOME/.keras/datasets/fashion-mnist"; do
  if [ -n "$dir" ] && ls "$dir"/train-images-idx3-ubyte* >/dev/null 2>&1; then
    cp "$dir"/*-ubyte* "$out/data/"
    break
  fi
done
ls "$out/wheels" "$out/data"
du -sh "$out"

#!/usr/bin/env bash
# Makes sure the four Fashion-MNIST IDX files are on this machine.
# Order: $FMNIST_DATA_DIR, Debian's /usr/share/datasets/fashion-mnist, ~/.keras/datasets/fashion-mnist.
# When none has them and apt is usable (root or sudo), installs Debian's dataset-fashion-mnist.
set -euo pipefail
files="train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte"
has_data() {
  local dir=$1 f
  for f in $files; do
    [ -f "$dir/$f" ] || [ -f "$dir/$f.gz" ] || return 1
  done
}
for dir in "${FMNIST_DATA_DIR:-}" /usr/share/datasets/fashion-mnist "$HOME/.keras/datasets/fashion-mnist"; do
  if [ -n "$dir" ] && has_data "$dir"; then
    echo "Fashion-MNIST: found in $dir"
    exit 0
  fi
done
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; else SUDO=none; fi
  if [ "$SUDO" != none ]; then
    echo "Fashion-MNIST: installing the Debian package dataset-fashion-mnist"
    $SUDO apt-get install -y dataset-fashion-mnist >/dev/null 2>&1 \
      || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y dataset-fashion-mnist >/dev/null; }
    has_data /usr/share/datasets/fashion-mnist && { echo "Fashion-MNIST: installed in /usr/share/datasets/fashion-mnist"; exit 0; }
  fi
fi
cat >&2 <<'MSG'
Fashion-MNIST was not found and could not be installed here. Either:
  - sudo apt-get install dataset-fashion-mnist            (Debian/Ubuntu)
  - download the four files from https://github.com/zalandoresearch/fashion-mnist
    into a folder and export FMNIST_DATA_DIR=/that/folder
  - pip install 'fmnist_keras[tfds]' to let the loader fall back to tensorflow-datasets
MSG
exit 1

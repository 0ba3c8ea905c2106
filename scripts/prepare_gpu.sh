#!/usr/bin/env bash
# The host half of a GPU window: fills the git-ignored .gpu/ that the device step carries
# (Keras + namex + optree wheels for the GPU machine's Python 3.12, this package as a wheel,
# the four IDX files, the commit they come from) and checks it fits the 64 MiB carry limit.
#
#   bash scripts/prepare_gpu.sh            # then: device run with carry [".gpu"], command
#                                          #   bash scripts/gpu_plan.sh headline
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bundle="$here/.gpu"
rm -rf "$bundle"
bash "$here/scripts/bundle_for_gpu.sh" "$bundle" "${1:-3.12}" >/dev/null
commit=$(git -C "$here" rev-parse --short HEAD)
git -C "$here" diff --quiet HEAD -- fmnist_keras || commit="$commit+dirty"
echo "$commit" > "$bundle/commit"
size=$(du -sm "$bundle" | cut -f1)
ls "$bundle/wheels"
echo "prepare_gpu: .gpu/ holds ${size} MiB for commit $commit"
if [ "$size" -ge 60 ]; then
  echo "prepare_gpu: over the carry limit's margin (64 MiB with the checkout)" >&2
  exit 1
fi

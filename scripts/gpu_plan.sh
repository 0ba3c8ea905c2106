#!/usr/bin/env bash
# The device half of a GPU window: runs a plan's runs in order within a time budget and leaves
# every finished run's ledger JSON, curves, history and log where they come back ($OUT).
#
#   bash scripts/gpu_plan.sh PLAN [BUDGET_SECONDS]   # on the GPU machine; .gpu/ carried beside the checkout
#   bash scripts/gpu_plan.sh --rehearse PLAN         # here, on the CPU: TensorFlow blocked, tiny runs
#
# PLAN is a name in scripts/gpu_plans/ (or a path). Each line: ESTIMATED_SECONDS NAME COMMAND...;
# the first run is the smoke run: if it fails, the plan stops there. A run starts only if its
# estimate fits in what is left of the budget (default 510 s, under the 600 s a command may take),
# and is stopped when the budget ends. After each run, $OUT/plan.tar.gz is rewritten with all that
# finished (ledger/*.json, <name>/{results,config}.json, history.csv, *.png, <name>.log) and
# $OUT/plan.log says what ran, so a command cut short still returns every finished run.
# Prepare .gpu/ first with scripts/prepare_gpu.sh. Guide: docs/gpu.md.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rehearse=0
if [ "${1:-}" = "--rehearse" ]; then rehearse=1; shift; fi
plan=${1:?usage: bash scripts/gpu_plan.sh [--rehearse] PLAN [BUDGET_SECONDS]}
budget=${2:-510}
[ -f "$plan" ] || plan="$here/scripts/gpu_plans/$plan.plan"
[ -f "$plan" ] || { echo "gpu_plan: no plan $1 (expected a file or a name in scripts/gpu_plans/)" >&2; exit 2; }
out=${OUT:?gpu_plan: OUT must name the folder whose files come back}
bundle=${GPU_BUNDLE:-$here/.gpu}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
log="$out/plan.log"
say() { echo "gpu_plan: $*" | tee -a "$log"; }
start=$(date +%s)

# The package and Keras from the bundle; the data and the commit it was made from.
[ -d "$bundle/wheels" ] || { echo "gpu_plan: no $bundle/wheels: run scripts/prepare_gpu.sh and carry .gpu" >&2; exit 2; }
site="$stage/site"
wheels=("$bundle"/wheels/*.whl)
if [ $rehearse = 1 ]; then
  # Here the venv has Keras for this Python; only the package comes from the bundle (as on the GPU).
  wheels=("$bundle"/wheels/fmnist_keras-*.whl)
  export PYTHONPATH="$here/tests/no_tensorflow" JAX_PLATFORMS=cpu
  tiny=(--limit-train 256 --val-size 256 --epochs 1 --repeats 1 --clean-train-size 0 --width 8)
fi
python=${PYTHON:-python3}
"$python" -m pip install -q --no-index --no-deps --no-compile --target "$site" "${wheels[@]}" \
  || { echo "gpu_plan: could not install the bundle's wheels" >&2; exit 2; }
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
export FMNIST_DATA_DIR="$bundle/data" FMNIST_LEDGER_DIR="$stage/out/ledger"
[ -f "$bundle/commit" ] && export FMNIST_GIT_COMMIT="$(cat "$bundle/commit")"
mkdir -p "$stage/out/ledger"
say "plan $(basename "$plan"), budget ${budget} s, rehearse=$rehearse, $("$python" -c 'import jax; print(jax.devices())' 2>&1 | tail -1)"

pack() { tar czf "$out/plan.tar.gz.tmp" -C "$stage/out" . && mv "$out/plan.tar.gz.tmp" "$out/plan.tar.gz"; }
first=1
while read -r estimate name command; do
  case "$estimate" in ''|'#'*) continue ;; esac
  left=$(( budget - ($(date +%s) - start) ))
  if [ "$estimate" -gt "$left" ]; then
    say "$name: skipped, estimated ${estimate} s > ${left} s left"
    first=0
    continue
  fi
  read -r -a words <<< "$command"
  if [ $rehearse = 1 ]; then
    words+=("${tiny[@]}")
    [[ " ${words[*]} " == *" --evaluate "* ]] && words+=(--evaluate-limit 200)
  fi
  mkdir -p "$stage/out/$name"
  t0=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$left" "$python" "${words[@]}" --output-dir "$stage/runs/$name" \
    > "$stage/out/$name.log" 2>&1
  status=$?
  for f in results.json config.json history.csv curves.png lr.png confusion.png evaluation.json report.html \
           table.md table.json; do
    [ -f "$stage/runs/$name/$f" ] && cp "$stage/runs/$name/$f" "$stage/out/$name/"
  done
  say "$name: exit $status after $(( $(date +%s) - t0 )) s: $(grep -h 'test accuracy' "$stage/out/$name.log" | tail -1)"
  pack
  if [ $first = 1 ] && [ $status != 0 ]; then
    say "smoke run failed: stopping (its log: $name.log in plan.tar.gz)"; tail -20 "$stage/out/$name.log" >&2; exit 1
  fi
  first=0
done < "$plan"
say "done in $(( $(date +%s) - start )) s"

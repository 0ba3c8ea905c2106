"""tf.distribute on two logical CPU devices gives the metrics of one device; multiworker is refused;
mixed precision trains. (JAX data parallelism and several processes: tests/test_multiprocess.py.)"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import dataclasses
    from fmnist_keras.training.config import TrainConfig
    from fmnist_keras.training.runner import fit_and_evaluate

    @dataclasses.dataclass(frozen=True)
    class C(TrainConfig):
        hidden: tuple = (64,)

    out = {}
    for strategy in ("none", "data_parallel", "mirrored"):
        config = C(model="mlp", epochs=2, batch_size=128, lr=0.05, optimizer="sgd", schedule="constant",
                   limit_train=2048, val_size=500, clean_train_size=0, strategy=strategy,
                   output_dir=sys.argv[1] + "/" + strategy)
        out[strategy] = fit_and_evaluate(config, verbose=0)
    print("RESULT" + json.dumps({k: [v.test_accuracy, v.test_loss, v.replicas] for k, v in out.items()}))
""")


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpus_matches_one_device(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.split("RESULT")[-1])
    acc1, loss1, replicas = result["none"]
    assert replicas == 1
    for name in ("data_parallel", "mirrored"):  # one engine, two spellings on TensorFlow
        acc2, loss2, replicas = result[name]
        assert replicas == 2, name
        assert acc2 == pytest.approx(acc1, abs=2e-3), name
        assert loss2 == pytest.approx(loss1, rel=1e-3), name


def test_multiworker_is_refused_before_any_work_with_the_issue_and_the_jax_way(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "fmnist_keras.recipes.cnn2_tuned", "--limit-train", "512",
                           "--epochs", "1", "--strategy", "multiworker", "--output-dir", str(run)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"})
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert "keras-team/keras#20585" in errors[0] and "KERAS_BACKEND=jax --strategy data_parallel" in errors[0]
    assert not run.exists()


def test_bf16_mixed_precision_trains_and_restores_policy(tmp_path):
    import dataclasses

    import keras

    from fmnist_keras.training.config import TrainConfig
    from fmnist_keras.training.runner import fit_and_evaluate

    @dataclasses.dataclass(frozen=True)
    class C(TrainConfig):
        width: int = 4

    results = fit_and_evaluate(C(epochs=1, batch_size=64, limit_train=512, val_size=500, clean_train_size=0,
                                 precision="bf16", augment="erasing", output_dir=str(tmp_path / "bf16")),
                               verbose=0)
    assert results.test_accuracy > 0.1
    assert keras.config.dtype_policy().name == "float32"
    model = keras.saving.load_model(tmp_path / "bf16" / "model.keras")
    assert model.get_layer("head_dense").dtype_policy.name == "float32"  # probabilities in float32
    assert model.get_layer("stem_conv").dtype_policy.compute_dtype == "bfloat16"
    saved = json.loads((tmp_path / "bf16" / "config.json").read_text())
    assert saved["precision"] == "bf16"

"""Report 001's hyperparameter search for CNN_2 with Keras Tuner, then the best run.

Source: Advertima's CNN study searched CNN_2's learning rate, L2 strength,
batch size and epochs on a 50,000 / 10,000 train/validation split and found
lr 3.593e-4, L2 3.593e-4, batch 64, 10 epochs -> 92.91% test accuracy
(`recipes/cnn2_tuned.py` trains exactly that). This recipe runs the search
itself (`fmnist_keras.keras_tuner_hypermodel.FashionHyperModel`: Adam with coupled L2, lr and
L2 log-uniform, batch size from a list, epochs an integer range; objective
val_accuracy), then trains the best configuration with the recipe engine
(best-validation epoch kept) and tests it. Target: >= 92.9%.

Writes `<out>/config.json`, `<out>/search/` (Keras Tuner's trials),
`<out>/trials.json` (every trial's values, score and status),
`<out>/best/` (an ordinary run folder of the best configuration) and
`<out>/results.json`.

Run:
    python -m fmnist_keras.recipes.tune                       # 20 Bayesian trials, GPU recommended
    python -m fmnist_keras.recipes.tune --quick               # 3 random trials on a slice, a few minutes on 2 CPU cores
    python -m fmnist_keras.recipes.tune --tuner hyperband --epochs-max 12

Distributed (one chief serving the oracle, any number of workers training
trials; every process gets the same flags and --output-dir on a shared disk):
    KERASTUNER_TUNER_ID=chief   KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m fmnist_keras.recipes.tune --output-dir /shared/tune
    KERASTUNER_TUNER_ID=tuner0  KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        python -m fmnist_keras.recipes.tune --output-dir /shared/tune
The chief creates the folder, waits for the trials and then trains and tests
the best configuration; workers wait for the chief's folder, run trials and exit.
"""

import dataclasses
import os
import sys
import time
from pathlib import Path

from fmnist_keras.choices import TUNERS
from fmnist_keras import _quiet
from fmnist_keras.recipes import _cli
from fmnist_keras.training.config import TrainConfig, config_record, setting

RECIPE = "tune"


@dataclasses.dataclass(frozen=True)
class Config(TrainConfig):
    model: str = "cnn2"
    optimizer: str = "adam"
    schedule: str = "constant"  # the report names no schedule
    epochs: int = 10  # replaced by the best trial's
    batch_size: int = 64  # replaced by the best trial's
    lr: float = 3.593e-4  # replaced by the best trial's
    l2: float = 3.593e-4  # replaced by the best trial's
    patience: int = 0
    clean_train_size: int = 0
    tuner: str = setting("bayesian", "Keras Tuner search algorithm", "optimization", TUNERS)
    max_trials: int = setting(20, "trials of the random and bayesian searches", "optimization")
    hyperband_factor: int = setting(3, "hyperband: reduction factor between brackets", "optimization")
    lr_min: float = setting(1e-4, "smallest learning rate searched (log scale)", "optimization")
    lr_max: float = setting(1e-2, "largest learning rate searched", "optimization")
    l2_min: float = setting(1e-5, "smallest L2 searched (log scale)", "optimization")
    l2_max: float = setting(1e-2, "largest L2 searched", "optimization")
    batch_sizes: tuple = setting((32, 64, 128, 256), "batch sizes searched", "optimization")
    epochs_min: int = setting(2, "fewest epochs a trial trains", "schedule")
    epochs_max: int = setting(10, "most epochs a trial trains", "schedule")
    worker_wait: int = setting(600, "seconds a distributed worker waits for the chief's folder",
                               "run and outputs")

    def __post_init__(self):
        super().__post_init__()
        for name in ("max_trials", "hyperband_factor"):
            if getattr(self, name) < 1 + (name == "hyperband_factor"):
                raise ValueError(f"{name} is too small. Received: {name}={getattr(self, name)!r}")
        if not self.val_size:
            raise ValueError("the search needs a validation split. Received: val_size=0")
        self.space()  # validates the ranges

    def space(self):
        from fmnist_keras.keras_tuner_hypermodel import SearchSpace

        return SearchSpace(models=(self.model,), optimizers=(self.optimizer,), lr=(self.lr_min, self.lr_max),
                           weight_decay=(self.l2_min, self.l2_max), augments=(self.augment,),
                           batch_sizes=tuple(self.batch_sizes), epochs=(self.epochs_min, self.epochs_max))


QUICK = dict(limit_train=2000, val_size=1000, tuner="random", max_trials=3, batch_sizes=(64, 128),
             epochs_min=1, epochs_max=2)
QUICK_HELP = ("CPU preset: 3 random trials of CNN_2 (1-2 epochs, batch 64/128) on 2,000 training and "
              "1,000 validation images, then the best configuration trained and tested (a few minutes on 2 cores).")


def distributed_role():
    """"chief", "worker" or None (no KERASTUNER_ORACLE_IP: one process does everything)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if not os.environ.get(name):
            raise ValueError(f"distributed tuning needs {name} with KERASTUNER_ORACLE_IP. Received: {name}=unset")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def _tuner(config, directory):
    from fmnist_keras.keras_tuner_hypermodel import FashionHyperModel, make_tuner

    hypermodel = FashionHyperModel(config.space(), base=config)
    extra = {"factor": config.hyperband_factor} if config.tuner == "hyperband" else {}
    return make_tuner(config.tuner, hypermodel, directory, max_trials=config.max_trials,
                      max_epochs=config.epochs_max, seed=config.seed, **extra)


def _search(config, directory, verbose):
    from fmnist_keras.training import runner

    (x, y), (x_val, y_val), _ = runner.load_splits(config)
    tuner = _tuner(config, directory)
    start = time.time()
    tuner.search(x, y, validation_data=(x_val, y_val), verbose=verbose)
    return tuner, time.time() - start


def tune_and_train(config, verbose=None, finish=()):
    """Searches, trains the best configuration, tests it (running `finish` on it); returns its `RunResults`."""
    from fmnist_keras import run_folder
    from fmnist_keras.training import runner
    from fmnist_keras.keras_tuner_hypermodel import best_values

    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2  # trial tables + one line per epoch in logs
    runner.load_splits(config)  # fail on bad data before any folder exists
    top = run_folder.make_run_dir(config.output_dir, RECIPE)
    run_folder.write_json(top / "config.json", config_record(RECIPE, config))
    tuner, search_seconds = _search(config, top / "search", verbose)
    trials = [{"trial_id": t.trial_id, "status": t.status, "score": t.score,
               "values": {k: v for k, v in t.hyperparameters.values.items()}}
              for t in tuner.oracle.trials.values()]
    run_folder.write_json(top / "trials.json", trials)
    best = best_values(tuner)
    [best_hp] = tuner.get_best_hyperparameters(1)
    epochs = best.get("epochs") or best_hp.values.get("tuner/epochs") or config.epochs
    final = config.replace(lr=best["lr"], l2=best.get("weight_decay", 0.0), batch_size=best["batch_size"],
                           epochs=int(epochs), output_dir=str(top / "best"))
    results = runner.fit_and_evaluate(final, recipe=RECIPE, finish=finish)
    summary = results.replace(run_dir=str(top), best_run_dir=results.run_dir,
                              best_hyperparameters={**best, "epochs": int(epochs)},
                              best_search_val_accuracy=tuner.oracle.get_best_trials(1)[0].score,
                              trials=len(trials), search_seconds=round(search_seconds, 2))
    summary.write()
    print(f"{RECIPE}: best of {len(trials)} trials: lr {best['lr']:.4g}, L2 {best.get('weight_decay', 0):.4g}, "
          f"batch {best['batch_size']}, epochs {int(epochs)}")
    return summary


def run_worker(config):
    """A distributed worker: waits for the chief's folder, runs trials until the oracle stops."""
    top = Path(config.output_dir or "")
    if not config.output_dir:
        raise ValueError("a distributed worker needs the chief's --output-dir. Received: output_dir=''")
    deadline = time.time() + config.worker_wait
    while not (top / "config.json").is_file():
        if time.time() > deadline:
            raise FileNotFoundError(f"no chief folder {str(top)!r} after {config.worker_wait} s; start the "
                                    f"chief with the same --output-dir. Received: output_dir={str(top)!r}")
        time.sleep(0.5)
    _search(config, top / "search", verbose=0)
    print(f"{RECIPE}: worker {os.environ['KERASTUNER_TUNER_ID']} done")
    return {"role": "worker", "run_dir": str(top)}


def main(argv=None):
    """Runs the recipe from command-line flags; returns the results dict."""
    args = sys.argv[1:] if argv is None else argv
    try:
        if "--resume" in args:
            raise ValueError("a search cannot be resumed; start a new one. Received: --resume")
        role = distributed_role()
    except ValueError as e:
        print(f"{RECIPE}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if role != "worker":
        return _cli.run_recipe(argv, Config, __doc__, QUICK, QUICK_HELP, RECIPE, run=tune_and_train,
                               report_number=92.91)
    parser = _cli.build_parser(Config, __doc__, QUICK_HELP, RECIPE)
    args = parser.parse_args(argv)
    try:
        _quiet.import_keras(args.verbose)
        return run_worker(_cli.config_from_args(Config, args, QUICK, RECIPE))
    except (ValueError, FileNotFoundError) as e:
        print(f"{RECIPE}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

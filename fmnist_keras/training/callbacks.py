"""Callbacks the runner composes with Keras' own (EarlyStopping, CSVLogger, ...)."""

import math

import keras


class CleanTrainMetrics(keras.callbacks.Callback):
    """Logs `clean_loss` and `clean_accuracy` on un-augmented training images.

    Report 000 puzzles over train accuracy below test accuracy: Keras' train
    accuracy is measured on erased/patched batches. This evaluates a fixed
    slice of clean training images each epoch so both curves can be shown.
    Put it before the callbacks that read the logs (CSVLogger, EarlyStopping).

    Args:
        dataset: a finite `tf.data.Dataset` of clean `(images, labels)` batches.
    """

    def __init__(self, dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_end(self, epoch, logs=None):
        results = self.model.evaluate(self.dataset, verbose=0, return_dict=True)
        if logs is not None:
            logs["clean_loss"] = results["loss"]
            logs["clean_accuracy"] = results["accuracy"]


class StopOnNaN(keras.callbacks.Callback):
    """Stops when the loss turns NaN/inf and says which epoch and what to try."""

    def __init__(self):
        super().__init__()
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.message = (
                f"loss became {loss} in epoch {self._epoch + 1}, batch {batch + 1}: try a lower "
                "--lr, a longer warmup, or --precision fp32")
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


class SameLogsEverywhere(keras.callbacks.Callback):
    """Checks at each epoch end that every process logged the same numbers.

    Under data parallelism over several processes, early stopping, the best
    checkpoint and the NaN guard decide on each process from its own logs;
    the run is only sound if those logs are the global metrics, identical
    everywhere. A mismatch stops the run with the numbers of each process.

    Args:
        check_same: `fn(values, what)` that raises unless every process
            passes the same values (a collective, `distributed.check_same_everywhere`).
    """

    def __init__(self, check_same):
        super().__init__()
        self.check_same = check_same

    def on_epoch_end(self, epoch, logs=None):
        names = sorted(logs or {})
        self.check_same([float(logs[name]) for name in names], f"epoch {epoch + 1}'s logs {names}")


class BestClassifierCheckpoint(keras.callbacks.Callback):
    """Keeps `path` holding the plain classifier of the best epoch so far.

    Saves to a temporary file and renames it, so a run killed while saving
    still has its previous best model. Only this run's own file is replaced.

    Args:
        classifier: the model inside the trainer (what users load).
        path: the `.keras` file.
        monitor: a validation metric where higher is better.
    """

    def __init__(self, classifier, path, monitor="val_accuracy", best=None):
        super().__init__()
        self.classifier, self.path, self.monitor = classifier, path, monitor
        self.best = -math.inf if best is None else best  # a resumed run's best so far

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value > self.best:
            self.best = value
            from fmnist_keras.run_folder import save_classifier

            save_classifier(self.classifier, self.path)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on validation accuracy that can continue a resumed run.

    It starts from the validation accuracies of the epochs already run (read
    back from history.csv), so a resumed run stops exactly when the
    uninterrupted one would. It does not keep best weights in memory: the
    best epoch's classifier is in model.keras (`BestClassifierCheckpoint`).
    """

    def __init__(self, past_val_accuracy=(), patience=15):
        super().__init__(monitor="val_accuracy", mode="max", patience=patience)
        self.past = list(past_val_accuracy)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.past:
            best_index = max(range(len(self.past)), key=self.past.__getitem__)  # first best, as Keras
            self.best = self.past[best_index]
            self.wait = len(self.past) - 1 - best_index

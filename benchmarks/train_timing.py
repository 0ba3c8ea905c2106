"""Timing variants in one process: a step timer, a `Variant` (one thing to time) and the
interleaved race that times variants in alternating order (train.py's docstring says why)."""

import time

import keras
import numpy as np

from _train_common import describe, log

SLOW = 0.5  # seconds: from here on, a fresh iterator's first step is timed too (its extra ms are noise)


class StepTimer(keras.callbacks.Callback):
    """Wall time of every batch, begin to end.

    Overriding the batch-end hooks keeps Keras from dispatching them
    asynchronously, and Keras converts the logs to Python numbers before
    calling them, so each time covers the finished step.
    """

    def __init__(self):
        super().__init__()
        self.times = []
        self._start = None

    def _begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def _end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)

    on_train_batch_begin = on_test_batch_begin = on_predict_batch_begin = _begin
    on_train_batch_end = on_test_batch_end = on_predict_batch_end = _end


class Variant:
    """One thing to time: `chunk(n)` runs n steps in one call and returns their times (s)."""

    def __init__(self, label, chunk, host=False):
        self.label = label
        self._chunk = chunk
        self.host = host  # a host-side input map: the first step of a fresh iterator waits for it
        self.times = []
        self.first_step = None
        self.probe = None
        self.error = None

    def warmup(self, steps):
        if self.error:
            return
        try:
            self.first_step = self._chunk(max(steps, 1))[0]
        except Exception as e:  # a variant that cannot run here is reported, not fatal
            self.fail(e)

    def time(self, max_steps, chunk_seconds, budget):
        """One chunk of timed steps, unless this variant has had `budget` seconds already.

        A call's first step also starts a fresh input iterator (10-20 ms on
        two cores) and, on the host placement, waits for a first augmented
        batch, so it is run untimed unless steps take `SLOW` seconds or more.
        The first chunk is a single probe step that sizes the later chunks
        (about `chunk_seconds`, 1 to `max_steps` steps); it counts only for
        slow variants.
        """
        if self.error or sum(self.times) >= budget:
            return
        try:
            if self.probe is None:
                times = self._chunk(1 + self.host)[self.host:]
                self.probe = times[0]
                if self.probe >= SLOW:
                    self.times += times
                return
            est = self.step or self.probe
            n = max(1, min(max_steps, int(chunk_seconds / est)))
            drop = 1 if self.host or est < SLOW else 0
            self.times += self._chunk(n + drop)[drop:]
        except Exception as e:
            self.fail(e)

    def fail(self, e):
        self.error = describe(e)
        log(f"  {self.label}: failed: {self.error}")

    @property
    def step(self):
        """Median step time (s), or None."""
        return float(np.median(self.times)) if self.times and not self.error else None

    @property
    def fastest(self):
        """Fastest step (s): contention from other jobs only ever adds time."""
        return float(np.min(self.times)) if self.times and not self.error else None


def race(variants, args, warmup=None):
    """Traces every variant, then times them interleaved, the order reversed every other round."""
    for v in variants:
        v.warmup(args.warmup if warmup is None else warmup)
    for r in range(args.rounds):
        for v in (variants if r % 2 == 0 else variants[::-1]):
            v.time(args.steps, args.chunk_seconds, args.variant_seconds)


def timed_chunk(method, dataset, **kwargs):
    """`n -> per-step times` of `method(dataset, <n steps>)`: a bound fit, evaluate or predict."""
    steps = "steps_per_epoch" if method.__name__ == "fit" else "steps"

    def chunk(n):
        timer = StepTimer()
        method(dataset, verbose=0, callbacks=[timer], **{steps: n}, **kwargs)
        return timer.times
    return chunk


def fit_chunk(model, dataset):
    return timed_chunk(model.fit, dataset, epochs=1, shuffle=False)


def summarize(v):
    """A variant's numbers once timed (the model behind it can go)."""
    return {"step": v.step, "fastest": v.fastest, "first": v.first_step, "error": v.error, "n": len(v.times)}

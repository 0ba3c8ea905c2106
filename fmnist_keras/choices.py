"""Every closed set of names a run can choose from, in one module free of Keras.

The command line lists these in `--help` without loading Keras (and with it
TensorFlow: seconds of start-up and a screen of C++ log lines); the modules
that act on a name import its set from here, so the two cannot disagree.
"""

# Model builders (fmnist_keras.models); the registry checks it builds exactly these.
MODELS = ("cnn1", "cnn2", "cnn3", "cnn4", "cnn5", "mlp", "resnet18", "resnet34", "speednet",
          "vgg11", "vgg16", "wrn28_10", "wrn40_4")
HEADS = ("softmax", "sigmoid")  # sigmoid: one-vs-rest probabilities (report 001)
NORMS = ("batch", "frn", "group", "none")
STEMS = ("cifar", "imagenet")
LAYER_INITS = ("keras", "pytorch")  # CNN_1..CNN_5 layer initializers
MLP_INITIALIZERS = ("glorot_uniform", "random_normal", "he_normal")

# Training (fmnist_keras.training).
OPTIMIZERS = ("sgd", "sgdw", "adam", "adamw", "rmsprop", "radam", "adabound")
L2_SCOPES = ("all", "kernels")
SCHEDULES = ("warmup_cosine", "sgdr", "step", "constant")
LOSSES = ("auto", "ce", "nll", "mse", "bce")
PLACEMENTS = ("device", "host")  # where augmentation runs
DATA_PLACEMENTS = ("host", "device")  # where the training images live (device: JAX, one process)
PRECISIONS = ("fp32", "bf16", "fp16")
STRATEGIES = ("none", "data_parallel", "mirrored", "multiworker")  # see training/distributed.py

# Keras Tuner (fmnist_keras.keras_tuner_hypermodel).
TUNERS = ("random", "hyperband", "bayesian")

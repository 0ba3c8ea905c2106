"""What every op and every recipe's stack draws, pinned to the draws from before the op contract.

Issue 16 split every op into `sample_<op>`/`apply_<op>` halves, gave every op `prob` and renamed
`erasing` to `random_erasing`; none of that may change a draw. The numbers below were computed
with the code before the split (commit ca7324f): for two consecutive calls of
`AugmentStack(spec, seed=11)` on the first 32 training images (`/ 255.0`), the sum of the images
and fixed random projections of the images and of the label rows. A different draw moves them by
far more than float rounding does, so matching numbers mean the same draws.

`ricap` then drew per batch by default; it now draws per image, so its entries spell out
`per_image=False` (the stacks that drew per batch before say so now, and still draw the same).
"""

import keras
import numpy as np
import pytest
from keras import ops

from fmnist_keras.augment import OPS, AugmentStack

pytestmark = pytest.mark.skipif(keras.config.backend() != "tensorflow",
                                reason="the reference draws were computed on the TensorFlow backend")

# spec -> (first call, second call), each (images sum, images projection, label rows projection).
REFERENCE = {
    'flip': ((7507.2943, -69.8475, -1.76441), (7507.2943, -85.6235, -1.76441)),
    'pad_crop': ((7011.7609, -89.3867, -1.76441), (7102.8825, 25.9848, -1.76441)),
    'translate': ((7340.9609, -92.0469, -1.76441), (7358.0158, -21.9183, -1.76441)),
    'rotate': ((7471.3248, -66.8056, -1.76441), (7472.5867, -49.8618, -1.76441)),
    'erasing': ((7479.3027, -19.5358, -1.76441), (7875.5841, -19.1361, -1.76441)),
    'cutout': ((6088.2589, -25.3129, -1.76441), (5661.2707, -45.9116, -1.76441)),
    'mixup': ((7561.3647, -67.795, 0.11678), (7249.6445, -28.1977, -6.33446)),
    'cutmix': ((7193.557, -39.1926, -1.56492), (7455.408, -140.476, 2.48172)),
    'augmix': ((7263.8743, -43.7333, -1.76441), (7646.9755, -60.9786, -1.76441)),
    'autoaugment': ((6922.2744, -129.394, -1.76441), (7094.6509, -31.4997, -1.76441)),
    'randaugment': ((6508.4079, -113.0033, -1.76441), (6671.49, -52.2112, -1.76441)),
    'flip(prob=1.0)': ((7507.2943, -13.221, -1.76441), (7507.2943, -13.221, -1.76441)),
    'erasing(prob=1.0)': ((7939.1575, -9.4762, -1.76441), (8087.5908, -18.4863, -1.76441)),
    'flip(vertical=True, prob=0.7)': ((7507.2943, -59.1712, -1.76441), (7507.2943, -141.3586, -1.76441)),
    'flip(horizontal=False, vertical=True)': ((7507.2943, -53.3044, -1.76441), (7507.2943, -131.3553, -1.76441)),
    'pad_crop(pad=2)': ((7340.9609, -92.0469, -1.76441), (7358.0158, -21.9183, -1.76441)),
    'translate(max_fraction=0.2)': ((6712.9766, -73.3476, -1.76441), (6902.1531, 58.0017, -1.76441)),
    'rotate(prob=0.5, max_degrees=30.0)': ((7482.1959, -85.7585, -1.76441), (7450.5176, -65.5919, -1.76441)),
    "erasing(fill='constant', fill_value=0.5)": ((7473.5315, -31.4369, -1.76441), (7676.8001, -44.9475, -1.76441)),
    "erasing(fill='mean', prob=1.0)": ((6912.7471, -23.8509, -1.76441), (6649.6586, -71.8868, -1.76441)),
    'erasing(max_count=3, prob=1.0)': ((7907.1958, -48.8914, -1.76441), (8005.3795, -23.5957, -1.76441)),
    'cutout(size=0.25, prob=0.5)': ((7355.3884, -28.0802, -1.76441), (7224.6982, -45.6504, -1.76441)),
    'mixup(per_image=False, alpha=0.4, prob=0.5)': ((7507.2942, -48.4302, -1.75696), (7507.2942, -58.8872, -2.17323)),
    'cutmix(per_image=False, prob=0.5)': ((7507.2943, -57.9913, -1.65331), (7507.2943, -42.3141, 0.71308)),
    'ricap(per_image=True)': ((9208.106, -54.784, 4.69832), (8329.8355, -58.9704, -2.84481)),
    'ricap(per_image=False)': ((12112.2983, -221.1409, -0.01945), (7507.2943, 13.8143, -4.72308)),
    'ricap(beta=0.1, per_image=False)': ((8367.9531, -177.7174, -2.35169), (7507.2943, 13.8143, -4.72308)),
    'augmix(views=3)': ((22187.3304, -78.5304, -7.44814), (22311.0435, -89.5555, -7.44814)),
    'augmix(severity=5, chains=2, max_depth=2, alpha=0.5)': ((7114.9381, -51.5725, -1.76441), (7430.8762, -54.2956, -1.76441)),
    'randaugment(num_ops=1, magnitude=5)': ((7494.3754, -84.658, -1.76441), (7259.1683, -59.0388, -1.76441)),
    'randaugment(num_ops=0)': ((7507.2943, -48.3813, -1.76441), (7507.2943, -48.3813, -1.76441)),
    'erasing(prob=0.5),ricap(beta=0.1, per_image=False)': ((8631.4984, -7.3159, 0.16255), (8935.6934, -96.812, -2.34887)),
    'erasing(prob=0.5)': ((7479.3027, -19.5358, -1.76441), (7875.5841, -19.1361, -1.76441)),
    'flip,pad_crop(pad=2)': ((7366.6237, -26.5918, -1.76441), (7367.2197, 13.9675, -1.76441)),
    'pad_crop(pad=4),flip': ((7011.7609, -87.0115, -1.76441), (7033.5491, -7.8163, -1.76441)),
    'flip,pad_crop(pad=4)': ((7131.3491, -5.929, -1.76441), (7088.3805, 56.9364, -1.76441)),
    'flip,pad_crop(pad=4),autoaugment': ((6853.4926, -84.6888, -1.76441), (6678.355, -22.2165, -1.76441)),
    'flip,pad_crop(pad=4),augmix(views=3)': ((21146.6981, 7.495, -7.44814), (21440.2959, -51.2217, -7.44814)),
    'flip,erasing,ricap(per_image=False)': ((7562.4601, -80.9056, 4.5193), (8289.3148, -29.0426, -4.16799)),
    'flip,translate,rotate,cutout,mixup': ((5841.7367, -77.657, 2.10192), (5492.3363, 11.0336, 0.4372)),
    "bf16 erasing{'prob': 1.0}": ((7785.0144, -35.3513, -1.76441), (7797.9187, -81.6896, -1.76441)),
    "bf16 erasing{'prob': 1.0, 'max_count': 3}": ((8006.6431, -129.9181, -1.76441), (7969.9247, -86.4242, -1.76441)),
}


@pytest.fixture(scope="module")
def batch(fmnist):
    (x, y), _ = fmnist
    return x[:32, :, :, None].astype("float32") / 255.0, np.eye(10, dtype="float32")[y[:32]]


def fingerprint(images, rows):
    """The sum of the images and fixed random projections of the images and label rows."""
    images = np.asarray(ops.convert_to_numpy(ops.cast(images, "float32")), np.float64)
    rows = np.asarray(ops.convert_to_numpy(rows), np.float64)
    w = np.random.default_rng(1).standard_normal(images.shape)
    v = np.random.default_rng(2).standard_normal(rows.shape)
    return [images.sum(), (images * w).sum(), (rows * v).sum()]


def _check(calls, expected):
    # Float rounding moves these by < 1e-3; another draw moves them by whole units.
    np.testing.assert_allclose(np.array(calls), np.array(expected), rtol=0, atol=2e-3)


@pytest.mark.parametrize("spec", [k for k in REFERENCE if not k.startswith("bf16")])
def test_every_op_and_stack_draws_what_it_drew_before(spec, batch):
    stack = AugmentStack(spec, seed=11)
    _check([fingerprint(*stack(*batch)) for _ in range(2)], REFERENCE[spec])


@pytest.mark.parametrize("params", [dict(prob=1.0), dict(prob=1.0, max_count=3)])
def test_random_fill_noise_keeps_the_images_dtype(params, batch):
    """Under mixed_bfloat16 the stack gets bfloat16 images: the noise is drawn in bfloat16, as before."""
    images, labels = ops.cast(batch[0], "bfloat16"), batch[1]
    seed = keras.random.SeedGenerator(5)
    calls = [fingerprint(*OPS["random_erasing"](images, labels, seed, **params)) for _ in range(2)]
    _check(calls, REFERENCE[f"bf16 erasing{params}"])


def _recipe_stacks():
    """(where, the stack a recipe runs now, the reference it must match)."""
    from fmnist_keras.recipes import (
        cnn2_tuned, cnn_table, resnet_ablations, resnet_augmix, resnet_erasing, speedrun)

    return [
        ("resnet_erasing", resnet_erasing.Config.augment,
         "erasing(prob=0.5),ricap(beta=0.1, per_image=False)"),
        ("resnet_erasing --quick", resnet_erasing.QUICK["augment"], "erasing(prob=0.5)"),
        ("cnn2_tuned", cnn2_tuned.Config.augment, "flip"),
        ("cnn_table", cnn_table.CROP_FLIP, "pad_crop(pad=4),flip"),
        ("resnet_ablations flip", resnet_ablations.CELLS["flip"][0]["augment"], "flip"),
        ("resnet_augmix flip", resnet_augmix.CELLS["flip"][0]["augment"], "flip,pad_crop(pad=4)"),
        ("resnet_augmix autoaugment", resnet_augmix.CELLS["autoaugment"][0]["augment"],
         "flip,pad_crop(pad=4),autoaugment"),
        ("resnet_augmix", resnet_augmix.Config.augment, "flip,pad_crop(pad=4),augmix(views=3)"),
        ("speedrun", speedrun.Config.augment, "flip,pad_crop(pad=2)"),
    ]


@pytest.mark.parametrize("where, spec, reference", _recipe_stacks(), ids=[w for w, _, _ in _recipe_stacks()])
def test_recipes_draw_what_they_drew_before(where, spec, reference, batch):
    stack = AugmentStack(spec, seed=11)
    _check([fingerprint(*stack(*batch)) for _ in range(2)], REFERENCE[reference])


def test_old_spelling_draws_the_same_as_the_new(batch):
    new, old = AugmentStack("random_erasing(prob=0.5)", seed=11), AugmentStack("erasing(prob=0.5)", seed=11)
    assert new.augment == old.augment == "random_erasing(prob=0.5)"
    np.testing.assert_array_equal(ops.convert_to_numpy(new(*batch)[0]), ops.convert_to_numpy(old(*batch)[0]))

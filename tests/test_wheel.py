"""The package as users get it: a wheel installed outside the checkout.

Every other test imports the editable install of this checkout, which finds
modules that a wheel may leave out (a folder without `__init__.py` is skipped
by `packages = find:`). Here the wheel is built, installed into an empty
folder, and used from a directory without the source tree.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _package_modules():
    """Dotted names of every module in the source tree's package."""
    names = []
    for path in sorted((ROOT / "fmnist_keras").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _clean_copy(target):
    """The checkout's files as a fresh clone has them (tracked, or new and not ignored): a build
    folder left in the checkout would put modules that no longer exist into the wheel."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, timeout=60)
    if listed.returncode != 0:  # not a git checkout (an unpacked sdist): it is clean already
        return ROOT
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`(wheel, site, cwd)`: the wheel's files installed into `site`; `cwd` holds no source."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = _clean_copy(tmp / "source")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--quiet", "-w", str(tmp / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    [wheel] = (tmp / "dist").glob("fmnist_keras-*.whl")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                              "--target", str(tmp / "site"), str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    (tmp / "elsewhere").mkdir()
    return wheel, tmp / "site", tmp / "elsewhere"


def _run(site, cwd, *args, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def test_the_wheel_holds_every_module_and_nothing_else(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [m for m in _package_modules()
               if f"{m.replace('.', '/')}.py" not in names and f"{m.replace('.', '/')}/__init__.py" not in names]
    assert not missing, f"modules left out of the wheel: {missing}"
    source = {str(p.relative_to(ROOT)) for p in (ROOT / "fmnist_keras").rglob("*.py")}
    stale = sorted(n for n in names if n.endswith(".py") and n not in source)
    assert not stale, f"modules in the wheel that the source no longer has: {stale}"


@pytest.mark.slow
def test_every_module_imports_from_the_installed_wheel(installed):
    _, site, cwd = installed
    modules = [m for m in _package_modules() if not m.endswith("__main__")]
    script = ("import importlib, fmnist_keras\n"
              f"assert fmnist_keras.__file__.startswith({str(site)!r}), fmnist_keras.__file__\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "print('imported', len(" + repr(modules) + "))")
    proc = _run(site, cwd, "-c", script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"imported {len(modules)}" in proc.stdout


@pytest.mark.slow
def test_a_recipe_trains_from_the_installed_wheel(installed):
    _, site, cwd = installed
    proc = _run(site, cwd, "-m", "fmnist_keras.recipes.cnn2_tuned", "--model", "cnn4", "--limit-train", "512",
                "--epochs", "1", "--val-size", "500", "--clean-train-size", "0", "--output-dir", "run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cnn2_tuned: test accuracy" in proc.stdout
    assert (cwd / "run" / "results.json").is_file() and (cwd / "run" / "model.keras").is_file()

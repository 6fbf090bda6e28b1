"""tools/export.py: the SavedModel reloads with TensorFlow alone and matches G."""
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT
from tests.conftest import SHARED_MNIST as MNIST
RUNS = {
    "ring8": ("ring8.yaml", [
        "--set", "generator.hidden=[32, 32]", "--set", "discriminator.hidden=[32, 32]",
        "--set", "train.batch_size=64", "--set", "eval.num_samples=100"]),
    "mnist": ("mnist_dcgan.yaml", [
        "--set", f"data.path={MNIST}", "--set", "generator.base_channels=8",
        "--set", "discriminator.base_channels=8", "--set", "train.batch_size=8",
        "--set", "eval.num_samples=16"]),
}
STEPS = ["--set", "train.steps=3", "--set", "train.log_every=1",
         "--set", "train.sample_every=3", "--set", "train.checkpoint_every=3"]
NUM = 16

# Runs in a fresh interpreter: only TensorFlow (and numpy) imported, no tfgan1.
_RELOAD = """
import json, sys
import numpy as np
import tensorflow as tf
report = {}
for name, model_dir, noise_path, out_path in json.loads(sys.argv[1]):
  fn = tf.saved_model.load(model_dir).signatures["serving_default"]
  (spec,) = fn.structured_input_signature[1].values()
  outputs = fn(noise=tf.constant(np.load(noise_path)))
  (key, value), = outputs.items()
  np.save(out_path, value.numpy())
  report[name] = {"input": [spec.name, spec.dtype.name, spec.shape.as_list()],
                  "output": [key, value.dtype.name]}
report["tfgan1_imported"] = any(m.startswith("tfgan1") for m in sys.modules)
print(json.dumps(report))
"""


def _popen(args):
  return subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_all(procs):
  for proc in procs:
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """{name: (workdir, noise, exported outputs)}. The runs train in this process
  (tfgan1.train_and_evaluate, what the CLI calls; the export tool only reads
  their workdirs), saving a TensorFlow import each; the tool and the reload run
  as processes of their own."""
  import tfgan1  # pylint: disable=import-outside-toplevel
  names = [n for n in RUNS if n != "mnist" or MNIST.is_dir()]
  tmp = tmp_path_factory.mktemp("export")
  for n in names:
    sets = [a for a in RUNS[n][1] + STEPS if a != "--set"]
    tfgan1.train_and_evaluate(tfgan1.load_config(ROOT / "configs" / RUNS[n][0], sets), tmp / n)
  _wait_all([_popen([ROOT / "tools" / "export.py", "--workdir", tmp / n,
                     "--out", tmp / f"{n}_saved"]) for n in names])
  jobs = []
  for n in names:
    with open(ROOT / "configs" / RUNS[n][0], encoding="utf-8") as f:
      dim = yaml.safe_load(f)["noise"]["dim"]  # the SavedModel's input width
    noise = np.random.default_rng(0).standard_normal((NUM, dim)).astype(np.float32)
    np.save(tmp / f"{n}_noise.npy", noise)
    jobs.append([n, str(tmp / f"{n}_saved"), str(tmp / f"{n}_noise.npy"),
                 str(tmp / f"{n}_out.npy")])
  out = subprocess.run([sys.executable, "-c", _RELOAD, json.dumps(jobs)], cwd=tmp,
                       capture_output=True, text=True, timeout=240, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  report = json.loads(out.stdout.strip().splitlines()[-1])
  return {n: (tmp / n, np.load(tmp / f"{n}_noise.npy"), np.load(tmp / f"{n}_out.npy"))
          for n in names}, report


def _in_process(workdir, noise):
  from tfgan1.runner import reload as restore  # pylint: disable=g-import-not-at-top
  _, _, generator = restore.load_sampler(str(workdir))
  return generator(noise, training=False).numpy()


def test_reload_needs_only_tensorflow(exported):
  _, report = exported
  assert report["tfgan1_imported"] is False


def test_toy_export_is_float_samples_equal_to_generator(exported):
  runs, report = exported
  workdir, noise, out = runs["ring8"]
  assert report["ring8"] == {"input": ["noise", "float32", [None, noise.shape[1]]],
                             "output": ["samples", "float32"]}
  assert out.shape == (NUM, 2) and out.dtype == np.float32
  np.testing.assert_allclose(out, _in_process(workdir, noise), rtol=1e-5, atol=1e-6)


def test_image_export_is_uint8_pixels_of_generator(exported):
  runs, report = exported
  if "mnist" not in runs:
    pytest.skip(f"shared MNIST not found at {MNIST}")
  workdir, noise, out = runs["mnist"]
  assert report["mnist"] == {"input": ["noise", "float32", [None, 128]],
                             "output": ["images", "uint8"]}
  assert out.shape == (NUM, 28, 28, 1) and out.dtype == np.uint8
  x = _in_process(workdir, noise)
  expected = np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
  diff = np.abs(out.astype(np.int16) - expected.astype(np.int16))
  assert diff.max() <= 1
  # Off-by-one only where float noise flips a rounding: almost never.
  assert (diff == 0).mean() > 0.99
  # A 3-step G is not constant: the comparison covers many pixel values.
  assert len(np.unique(out)) > 10


def test_bad_workdir_is_one_line_exit_2(tmp_path):
  out = subprocess.run([sys.executable, str(ROOT / "tools" / "export.py"),
                        "--workdir", str(tmp_path / "nope"), "--out", str(tmp_path / "m")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
  assert out.returncode == 2
  assert out.stderr.strip().splitlines() == [
      f"error: --workdir: {str(tmp_path / 'nope')!r} holds no config.yaml; "
      "expected the folder of a tfgan1 run"]

"""A user's own plugins, written as `.py` files outside the repo, through the CLI.

Covers both ways to load them (`--plugin FILE` and the YAML `plugins:` key),
`--verify`, the saved config.yaml naming the files so tools/sample.py finds them,
and the one-line exit-2 error when a user plugin takes a key a built-in owns.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, run_cli
from tfgan1 import config as config_lib
from tfgan1.config import yamlio

# The ten-line loss of docs/guide/plugins.md: a softplus ("soft") hinge.
MY_LOSS = '''\
import tensorflow as tf
from tfgan1 import LOSSES

@LOSSES.register("my_loss")
class SoftHinge:
  def __init__(self, margin=1.0):
    self.margin = float(margin)
  def discriminator_loss(self, real_logits, fake_logits):
    return (tf.reduce_mean(tf.nn.softplus(self.margin - tf.reshape(real_logits, [-1])))
            + tf.reduce_mean(tf.nn.softplus(self.margin + tf.reshape(fake_logits, [-1]))))
  def generator_loss(self, fake_logits, real_logits):
    return -tf.reduce_mean(fake_logits)
'''

# A penalty, a dataset and its evaluator in a second file: stateless RNG only, as docs/guide/plugins.md asks.
MY_EXTRAS = '''\
import tensorflow as tf
from tfgan1 import DATASETS, EVALUATORS, PENALTIES
from tfgan1.registry.spec import DataSpec

@PENALTIES.register("my_input_grad")
class InputGradSquared:
  """E ||grad_x D(x)||^2 at real points nudged by stateless noise."""
  def __init__(self, scale=0.1):
    self.scale = float(scale)
  def __call__(self, discriminator, real_data, fake_data, seed):
    x = real_data + self.scale * tf.random.stateless_normal(tf.shape(real_data), seed)
    with tf.GradientTape() as tape:
      tape.watch(x)
      logits = discriminator(x)
    grads = tape.gradient(logits, x)
    return tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=-1))

@DATASETS.register("my_line")
class Line:
  """Points on the segment y = x, x ~ U[-1, 1]; batch i depends only on (seed, i)."""
  default_evaluators = ("off_line",)
  def __init__(self):
    self.spec = DataSpec(shape=(2,))
  def dataset(self, batch_size, seed):
    def batch(i):
      t = tf.random.stateless_uniform([batch_size, 1], tf.stack([tf.cast(seed, tf.int64), i]),
                                      -1.0, 1.0)
      return tf.concat([t, t], axis=1)
    return tf.data.Dataset.counter().map(batch)

@EVALUATORS.register("off_line")
class OffLine:
  """Mean distance |x - y| of the samples from the line (data: the dataset plugin)."""
  def __init__(self, data):
    self.data = data
  def evaluate(self, samples):
    return {"off_line": float(abs(samples[:, 0] - samples[:, 1]).mean())}
'''

DUPLICATE = '''\
from tfgan1 import LOSSES

@LOSSES.register("hinge")
class MyHinge:
  pass
'''

TINY = ["--set", "generator.hidden=[8]", "--set", "discriminator.hidden=[8]",
        "--set", "train.batch_size=8", "--set", "eval.num_samples=10",
        "--set", "train.log_every=10", "--set", "loss.name=my_loss"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  folder = tmp_path_factory.mktemp("user_code")
  loss, extras = folder / "my_loss.py", folder / "my_extras.py"
  loss.write_text(MY_LOSS)
  extras.write_text(MY_EXTRAS)
  return loss, extras


def _final_metrics(workdir):
  lines = (workdir / "metrics.jsonl").read_text().splitlines()
  assert lines, "metrics.jsonl is empty"
  return json.loads(lines[-1])


def test_plugin_flag_trains_and_sample_tool_finds_it(files, tmp_path):
  loss, _ = files
  workdir = tmp_path / "w"
  out = run_cli("--config", ROOT / "configs" / "ring8.yaml", "--plugin", loss,
                "--workdir", workdir, *TINY, "--set", "train.steps=20")
  assert out.returncode == 0, out.stderr[-3000:]
  record = _final_metrics(workdir)
  assert record["step"] == 20 and "modes" in record
  saved = config_lib.load(str(workdir / "config.yaml"))
  assert saved.loss.name == "my_loss"
  assert str(loss) in saved.plugins  # the flag's file, absolute, for later tools
  # A fresh process that never saw --plugin must load it from config.yaml alone.
  target = tmp_path / "x.npy"
  sample = subprocess.run([sys.executable, "tools/sample.py", "--workdir", str(workdir),
                           "--num", "10", "--out", str(target)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
  assert sample.returncode == 0, sample.stderr[-3000:]
  samples = np.load(target)
  assert samples.shape == (10, 2) and np.isfinite(samples).all()


def test_yaml_plugins_key_with_user_loss_penalty_and_dataset(files, tmp_path):
  loss, extras = files
  raw = yamlio.load_file(str(ROOT / "configs" / "ring8.yaml"))
  raw["plugins"] = [str(loss), str(extras)]
  raw["data"] = {"name": "my_line"}
  raw["penalties"] = [{"name": "my_input_grad", "weight": 1.0, "scale": 0.05}]
  config = tmp_path / "mine.yaml"
  config.write_text(yamlio.dump(raw))
  workdir = tmp_path / "w"
  out = run_cli("--config", config, "--workdir", workdir, *TINY, "--set", "train.steps=20")
  assert out.returncode == 0, out.stderr[-3000:]
  record = _final_metrics(workdir)
  assert record["step"] == 20 and np.isfinite(record["off_line"])
  saved = config_lib.load(str(workdir / "config.yaml"))
  assert list(saved.plugins) == [str(loss), str(extras)]
  assert saved.penalties[0].name == "my_input_grad"

  verify = run_cli("--config", config, "--verify", *TINY)
  assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-3000:]
  result = json.loads(verify.stdout[verify.stdout.index("{"):])
  assert result["ok"] is True and result["worst_relative"] <= 1e-5


def test_verify_with_plugin_flag(files):
  loss, _ = files
  out = run_cli("--config", ROOT / "configs" / "ring8.yaml", "--plugin", loss,
                "--verify", *TINY)
  assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
  result = json.loads(out.stdout[out.stdout.index("{"):])
  assert result["ok"] is True


def test_user_plugin_taking_a_builtin_key_exits_2_naming_the_owner(tmp_path):
  plugin = tmp_path / "dup.py"
  plugin.write_text(DUPLICATE)
  out = run_cli("--config", ROOT / "configs" / "ring8.yaml", "--plugin", plugin,
                "--workdir", tmp_path / "w", *TINY)
  assert out.returncode == 2, out.stderr[-3000:]
  errors = [l for l in out.stderr.splitlines() if l.startswith("error:")]
  assert len(errors) == 1, out.stderr[-3000:]
  assert "'hinge'" in errors[0] and "tfgan1.plugins.losses.critic" in errors[0]
  assert not (tmp_path / "w").exists()  # failed before touching the workdir

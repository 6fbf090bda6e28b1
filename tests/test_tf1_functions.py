"""A user's TF1 network functions (`tfgan1.tf1_networks`) under `train.backend: tf1_graph`.

The plugin is a `.py` file of two plain functions built from `tf.compat.v1.layers`
inside a variable scope each, BatchNorm in both, as a TF1 script has them.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from tfgan1 import config as config_lib
from tfgan1.backends.tf1_graph import run as tf1_run
from tfgan1.errors import UserError
from tfgan1.registry import loader

PLUGIN = '''\
import tensorflow.compat.v1 as tf
from tfgan1 import tf1_networks

def generator(z, is_training):
  with tf.variable_scope("G", reuse=tf.AUTO_REUSE):
    h = tf.layers.dense(z, 16)
    h = tf.nn.relu(tf.layers.batch_normalization(h, training=is_training))
    return tf.layers.dense(h, 2)

def discriminator(x, is_training):
  with tf.variable_scope("D", reuse=tf.AUTO_REUSE):
    h = tf.layers.dense(x, 16)
    h = tf.nn.leaky_relu(tf.layers.batch_normalization(h, training=is_training))
    return tf.layers.dense(h, 1)

def forgetful_discriminator(x, is_training):  # no AUTO_REUSE: new weights per call
  with tf.variable_scope("D2"):
    return tf.layers.dense(x, 1)

def squatting_discriminator(x, is_training):  # in G's scope
  with tf.variable_scope("G", reuse=tf.AUTO_REUSE):
    return tf.layers.dense(x, 1, name="d_out")

tf1_networks("test_tf1_mlp", generator, discriminator)
tf1_networks("test_tf1_forgetful", generator, forgetful_discriminator)
tf1_networks("test_tf1_squatting", generator, squatting_discriminator)
'''


@pytest.fixture(scope="module")
def plugin(tmp_path_factory, plugins_loaded):
  del plugins_loaded
  path = tmp_path_factory.mktemp("tf1_functions") / "tf1_nets.py"
  path.write_text(PLUGIN)
  loader.load_user_plugin(str(path))
  return str(path)


def _config(plugin, *overrides):
  raw = {"generator": "test_tf1_mlp", "discriminator": "test_tf1_mlp", "plugins": [plugin],
         "loss": "hinge", "data": "ring8", "noise": {"dim": 3},
         # lazy (every 2): D called inside a tf.cond branch, its BatchNorm updates there
         "penalties": [{"name": "gradient_penalty", "weight": 1.0, "every": 2}],
         "optimizer": {"name": "adam", "learning_rate": 0.01, "beta_1": 0.5},
         "train": {"batch_size": 16, "backend": "tf1_graph", "jit_compile": False,
                   "steps": 4, "checkpoint_every": 2, "log_every": 2, "sample_every": 4},
         "eval": {"num_samples": 100}}
  return config_lib.from_dict(raw, overrides)


@pytest.fixture(scope="module")
def run(plugin):
  """One simultaneous run, shared: a test that steps its graph by hand marks it
  stale, so the next step loads the untouched mirrors back."""
  return tf1_run.Run(_config(plugin, "train.rule=simultaneous"))


def test_variables_by_scope_and_each_networks_updates_with_its_solver(run):
  g = run.trainer.graph
  assert {v.name.split("/")[0] for v in g.g_vars} == {"G"}
  assert {v.name.split("/")[0] for v in g.d_vars} == {"D"}
  assert len(g.g_vars) == len(g.d_vars) == 6  # 2 dense + BN gamma, beta: no moving stats
  run.trainer.push()
  rng = np.random.default_rng(0)
  feed = {g.real: rng.normal(size=(16, 2)), g.z: rng.uniform(-1, 1, (16, 3)), g.seed: [0, 0]}
  by_name = {v.name: v for v in g.variables}

  def read(net, name):
    return g.session.run(by_name[f"{net}/batch_normalization/{name}:0"])

  def stats():
    return {net: (read(net, "moving_mean"), read(net, "gamma")) for net in "GD"}

  start = stats()
  g.session.run(g.solvers["D_solver"], feed)  # D's apply and D's UPDATE_OPS only
  after_d = stats()
  assert np.abs(after_d["D"][0] - start["D"][0]).max() > 1e-4  # D's moving mean moved
  assert np.abs(after_d["D"][1] - start["D"][1]).max() > 1e-4  # D trained
  np.testing.assert_array_equal(after_d["G"][0], start["G"][0])  # G's updates not run
  np.testing.assert_array_equal(after_d["G"][1], start["G"][1])
  g.session.run(g.solvers["G_solver"], feed)
  after_g = stats()
  assert np.abs(after_g["G"][0] - start["G"][0]).max() > 1e-4
  np.testing.assert_array_equal(after_g["D"][0], after_d["D"][0])
  run.trainer.stale = True  # back to the mirrors' (initial) values at the next step


def _tensors(prefix):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  reader = tf.train.load_checkpoint(prefix)
  return {k.split("/weights/")[1].split("/.ATTRIBUTES")[0].replace(".S", "/"):
          reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if "/weights/" in k and k.startswith(("generator/", "discriminator/"))}


def test_resume_sample_and_export(plugin, run, tmp_path):
  """2 steps and 2 more resumed through the run loop's checkpoints equal 4 steps
  straight (weights, BatchNorm statistics, Adam slots, data and noise); the tools'
  loader (tools/sample.py) and tools/export.py's SavedModel give the run's samples."""
  from tfgan1.evaluation import sampling  # pylint: disable=import-outside-toplevel
  from tfgan1.runner import reload as restore  # pylint: disable=import-outside-toplevel
  from tfgan1.runner import train  # pylint: disable=import-outside-toplevel
  workdir = str(tmp_path / "run")
  for steps in (2, 4):  # the second run resumes from ckpt-2
    train.train_and_evaluate(_config(plugin, "train.rule=simultaneous", f"train.steps={steps}"),
                             workdir, False)
  assert os.path.isfile(os.path.join(workdir, "samples", "samples_00000004.png"))
  run.train(4)
  run.trainer.pull()
  want = {k: v.numpy() for net in (run.networks.generator, run.networks.discriminator)
          for k, v in net.weights.items()}
  got = _tensors(os.path.join(workdir, "checkpoints", "ckpt-4"))
  assert len(want) == 16 and got.keys() == want.keys()  # 6 trainable + 2 BN statistics each
  for key in want:  # D's moving statistics too (see test_chained_updates_read_after_the_write)
    np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-7, err_msg=key)
  config, _, generator = restore.load_sampler(workdir)
  assert restore.tf1_batch_norm(config, generator)  # so tools/sample.py refuses --truncation
  restore.check_truncation(config, generator, None, "sample")
  with pytest.raises(UserError, match=r"^--truncation: .*BatchNorm.*; sample without --truncation$"):
    restore.check_truncation(config, generator, 0.5, "sample")
  samples = sampling.sample(config, generator, 50, 0)
  np.testing.assert_allclose(samples, run.sample(50, 0), rtol=1e-6, atol=1e-6)
  out = str(tmp_path / "exported")
  done = subprocess.run([sys.executable, str(ROOT / "tools" / "export.py"), f"--workdir={workdir}",
                         f"--out={out}"], capture_output=True, text=True, timeout=600,
                        check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))
  assert done.returncode == 0, done.stderr[-3000:]
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  z = sampling.noise(config, tf.random.Generator.from_seed(0), 50)
  served = tf.saved_model.load(out).signatures["serving_default"](noise=z)
  np.testing.assert_allclose(served["samples"].numpy(), samples, rtol=1e-5, atol=1e-6)


def test_chained_updates_read_after_the_write():
  """D is called on the real and the fake batch, so each of its BatchNorm
  statistics has two updates in one step: the second must read the first's
  result (it once did not, and D's statistics differed by ~5e-5 between runs)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=import-outside-toplevel
  from tfgan1.backends.tf1_graph import ops  # pylint: disable=import-outside-toplevel
  with tf.Graph().as_default():
    var = tf.Variable(0.0, use_resource=True)
    first = var.assign(var * 0.5 + 1.0).op  # each assign reads the variable itself
    second = var.assign(var * 0.5 + 2.0).op
    ops.chain([first, second])
    ancestors = ops.ancestors
    value = ancestors([t.op for t in second.inputs[1:]]) - ancestors([first])
    reads = [op for op in value if op.type == "ReadVariableOp"]
    assert reads and all(first in ancestors([r]) for r in reads)
    with tf.Session() as session:
      session.run(var.initializer)
      for _ in range(20):
        session.run(var.initializer)
        session.run(tf.group(first, second))
        assert session.run(var) == 2.5  # 0 -> 1 -> 2.5; reading 0 twice gives 2


def test_alternating_calls_d_after_its_optimizer_made_slots_in_its_scope(plugin):
  run = tf1_run.Run(_config(plugin, "train.rule=alternating", "train.n_d=2"))
  metrics = run.train(2)
  assert run.step() == 2 and np.isfinite(float(metrics["loss_d"]))


def test_verify_one_step_gradients_against_the_graphs_simultaneous_rule(plugin, capsys):
  from tfgan1.backends.tf1_graph import verify  # pylint: disable=import-outside-toplevel
  assert verify.main(_config(plugin, "train.lambda=2.0")) == 0
  result = json.loads(capsys.readouterr().out)
  assert sorted(result["pairs"]) == [f"{name}_vs_simultaneous/{net}"
                                     for name in ("one_step_classic", "simultaneous_again")
                                     for net in ("discriminator", "generator")]
  assert result["ok"] and result["worst_relative"] < 1e-5
  assert result["pairs"]["simultaneous_again_vs_simultaneous/generator"]["max_abs_diff"] == 0


def test_tf2_refuses_in_one_line(plugin):
  from tfgan1 import backends  # pylint: disable=import-outside-toplevel
  with pytest.raises(UserError) as err:
    backends.make(_config(plugin, "train.backend=tf2"))
  assert str(err.value) == ("generator.name: 'test_tf1_mlp' is not supported with "
                            "train.backend=tf2; it is a pair of TF1 functions "
                            "(tf1_networks), which train.backend=tf1_graph runs")


@pytest.mark.parametrize("override, start", [
    ("ema={decay: 0.9}", "ema: not supported with TF1 functions"),
    ("discriminator={name: mlp, hidden: [8]}", "discriminator.name: 'mlp' is a Keras builder"),
    ("generator={name: test_tf1_mlp, width: 8}", "generator.width: not allowed"),
    ("discriminator.name=test_tf1_forgetful",
     "discriminator.name: the TF1 discriminator created new variables on a second call"),
    ("discriminator.name=test_tf1_squatting",
     "discriminator.name: the TF1 discriminator creates its variables under the generator's"),
])
def test_what_tf1_functions_cannot_do_is_one_line(plugin, override, start):
  with pytest.raises(UserError) as err:
    tf1_run.Run(_config(plugin, override))
  assert str(err.value).startswith(start) and "\n" not in str(err.value)


def test_labelled_data_is_one_line(plugin, tmp_path):
  path = tmp_path / "digits.npz"
  np.savez(path, x_train=np.zeros((8, 28, 28), np.uint8), y_train=np.zeros(8, np.uint8))
  with pytest.raises(UserError, match=r"^data: labelled data is not supported with TF1 "):
    tf1_run.Run(_config(plugin, f"data={{name: mnist, path: '{path}', labels: true}}"))

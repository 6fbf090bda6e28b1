"""The extragradient rule (Gidel et al. 2019) through the real engine.

A bilinear game against NumPy (simultaneous steps spiral out, extragradient
converges), ring8 against a hand-written GradientTape step, a non-finite
look-ahead that must leave everything as it was, `--verify`, and a CLI run that
checkpoints and resumes.
"""
import json
import re

import numpy as np
import pytest

from tests.conftest import RING8, RUN_SETS, SMALL, train_tiny
from tfgan1 import config as config_lib
from tfgan1 import tfimport

tf = tfimport.tensorflow()
import keras  # noqa: E402  pylint: disable=wrong-import-position

X0, Y0, LR = 1.0, 0.5, 0.1  # the bilinear game's start and SGD step


class Bilinear:
  """min_x max_y x*y: G's only weight is x (G(z) = x), D's is y (D(s) = y*s), so
  D(G(z)) = x*y, L_D = -x*y (D minimises L_D, i.e. maximises x*y), L_G = x*y.
  `nan_above`: L_D is nan where x*y exceeds it (log of a negative, times 0)."""

  def __init__(self, nan_above=None):
    self.nan_above = nan_above

  def discriminator_loss(self, real_logits, fake_logits):
    del real_logits
    loss = -tf.reduce_mean(fake_logits)
    if self.nan_above is not None:
      loss += 0.0 * tf.math.log(self.nan_above - tf.reduce_mean(fake_logits))
    return loss

  def generator_loss(self, fake_logits, real_logits):
    del real_logits
    return tf.reduce_mean(fake_logits)


def _scalar_net(value):
  return keras.Sequential([keras.Input((1,)), keras.layers.Dense(
      1, use_bias=False, kernel_initializer=keras.initializers.Constant(value))])


def _bilinear(rule, jit=False, family=None, **train):
  from tfgan1.engine.optimizers import OptimizerRoles
  from tfgan1.engine.trainer import Trainer
  from tfgan1.gan.networks import Networks
  networks = Networks(_scalar_net(X0), _scalar_net(Y0), family or Bilinear(), [])
  cfg = config_lib.build(config_lib.TrainConfig,
                         {"rule": rule, "jit_compile": jit, **train}, "train")
  roles = OptimizerRoles(d=keras.optimizers.SGD(LR), g=keras.optimizers.SGD(LR))
  return Trainer(networks, cfg, roles, lambda rng, n: tf.ones([n, 1]))  # G's input: 1


def _xy(trainer):
  return [trainer.g_vars[0].numpy().item(), trainer.d_vars[0].numpy().item()]


def _engine_iterates(trainer, steps):
  rng, real = tf.random.Generator.from_seed(0), tf.zeros([4, 1])
  out = [_xy(trainer)]
  for _ in range(steps):
    trainer.update_on([real], rng)
    out.append(_xy(trainer))
  return np.array(out)


def _numpy_iterates(extragradient, steps):
  """float64: F(x, y) = (dL_G/dx, dL_D/dy) = (y, -x); w <- w - lr F(w), or
  Korpelevich: w <- w - lr F(w - lr F(w))."""
  field = lambda w: np.array([w[1], -w[0]])
  w, out = np.array([X0, Y0]), [np.array([X0, Y0])]
  for _ in range(steps):
    w = w - LR * field(w - LR * field(w) if extragradient else w)
    out.append(w)
  return np.array(out)


@pytest.mark.parametrize("jit", [False, True])
def test_bilinear_game_spirals_out_simultaneously_and_converges_with_extragradient(jit):
  steps = 30
  radius = lambda path: np.linalg.norm(path, axis=1)
  sim_ref, eg_ref = _numpy_iterates(False, steps), _numpy_iterates(True, steps)
  # |w| x sqrt(1 + lr^2) per simultaneous step; x sqrt(1 - lr^2 + lr^4) per extragradient one.
  assert np.all(np.diff(radius(sim_ref)) > 0) and radius(sim_ref)[-1] > 1.15 * radius(sim_ref)[0]
  assert np.all(np.diff(radius(eg_ref)) < 0) and radius(eg_ref)[-1] < 0.87 * radius(eg_ref)[0]
  sim = _engine_iterates(_bilinear("simultaneous", jit), steps)
  eg_trainer = _bilinear("extragradient", jit)
  eg = _engine_iterates(eg_trainer, steps)
  np.testing.assert_allclose(sim, sim_ref, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(eg, eg_ref, rtol=1e-5, atol=1e-6)
  assert radius(sim)[-1] > radius(sim)[0] > radius(eg)[-1] + 0.1
  # Two updates per step per optimizer: the extrapolation and the update.
  assert [int(eg_trainer.optimizers[r].iterations.numpy()) for r in "dg"] == [2 * steps] * 2


def test_nonfinite_lookahead_skips_the_whole_step():
  """x*y is 0.5 at the start and 0.57 at the look-ahead point: L_D is finite at
  w and nan at w_half, so the step changes no weight and no optimizer state."""
  trainer = _bilinear("extragradient", family=Bilinear(nan_above=0.55), on_nonfinite="skip")
  path = _engine_iterates(trainer, 2)
  np.testing.assert_array_equal(path, [[X0, Y0]] * 3)
  assert [int(trainer.optimizers[r].iterations.numpy()) for r in "dg"] == [0, 0]
  assert int(trainer.guard.monitor.skipped.numpy()) == 2 and int(trainer.step.numpy()) == 2
  # With the threshold out of reach the same loss trains as the reference does.
  finite = _bilinear("extragradient", family=Bilinear(nan_above=5.0), on_nonfinite="skip")
  np.testing.assert_allclose(_engine_iterates(finite, 2), _numpy_iterates(True, 2), rtol=1e-5)


# ring8 against a hand-written step: SGD, hinge, G with BatchNorm and experts, D packing 2.
LAM = 2.0


def _hinge_gradients(gan, real, z):
  """(D grad of L_D, LAM x G grad of L_G), both from the current weights."""
  d, g = gan.discriminator, gan.generator
  with tf.GradientTape(persistent=True) as tape:
    fake_logits = d(g(z, training=True), training=True)
    real_logits = d(real, training=True)
    loss_d = (tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
              + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)))
    loss_g = -tf.reduce_mean(fake_logits)
  d_grads = tape.gradient(loss_d, d.trainable_variables)
  g_grads = [LAM * x for x in tape.gradient(loss_g, g.trainable_variables)]
  return d_grads + g_grads


def _reference_step(gan, real, z, lr, extrapolate=True):
  """Korpelevich: w_half = w - lr F(w), then w - lr F(w_half); BatchNorm statistics
  as the first forward pass (at w) left them."""
  weights = gan.discriminator.trainable_variables + gan.generator.trainable_variables
  stats = gan.discriminator.non_trainable_variables + gan.generator.non_trainable_variables
  start = [v.numpy() for v in weights]
  grads = _hinge_gradients(gan, real, z)
  after_first = [v.numpy() for v in stats]
  if extrapolate:
    for v, w, g in zip(weights, start, grads):
      v.assign(w - lr * g)
    grads = _hinge_gradients(gan, real, z)
  for v, w, g in zip(weights, start, grads):
    v.assign(w - lr * g)
  for v, s in zip(stats, after_first):
    v.assign(s)
  return grads


def _variables(gan):
  return [v.numpy() for v in gan.discriminator.variables + gan.generator.variables]


def _set(gan, values):
  for v, value in zip(gan.discriminator.variables + gan.generator.variables, values):
    v.assign(value)


def test_ring8_sgd_steps_equal_a_gradient_tape_reference(plugins_loaded):
  from tfgan1.backends.tf2 import Run
  lr, steps, n = 0.05, 3, 16
  run = Run(config_lib.load(RING8, SMALL + [
      "train.rule=extragradient", f"train.lambda={LAM}", "ema=null",
      f"optimizer={{name: sgd, learning_rate: {lr}}}"]))
  t, gan = run.trainer, run.trainer.gan
  assert t.optimizers.joint is False
  reals = [next(run.iterator) for _ in range(steps)]
  start = _variables(gan)
  # `gradients`: the look-ahead gradient, nothing applied, every variable restored.
  z0 = t.noise_fn(tf.random.Generator.from_seed(9), n)
  d, g, _ = t.rule.gradients(reals[0], z0, tf.constant([1, 2], tf.int32))
  for a, b in zip(start, _variables(gan)):
    np.testing.assert_array_equal(a, b)
  assert int(t.optimizers["d"].iterations.numpy()) == 0
  want = _reference_step(gan, reals[0], z0, lr)
  for got, ref in zip(d + g, want):
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
  # Three engine steps against three reference steps from the same start and noise.
  _set(gan, start)
  rng = tf.random.Generator.from_seed(5)
  for real in reals:
    t.update_on([real], rng)
  engine = _variables(gan)
  plain = {}
  for extrapolate in (True, False):
    _set(gan, start)
    rng = tf.random.Generator.from_seed(5)
    for real in reals:  # update_on's draws: the noise, then the penalty seed
      z = t.noise_fn(rng, n)
      rng.make_seeds(1)
      _reference_step(gan, real, z, lr, extrapolate)
    plain[extrapolate] = _variables(gan)
  for got, ref in zip(engine, plain[True]):
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
  moved = max(np.abs(a - b).max() for a, b in zip(engine, start))
  gap = max(np.abs(a - b).max() for a, b in zip(plain[True], plain[False]))
  assert moved > 1e-2 and gap > 1e-4  # the test tells extragradient from plain steps


CLI_SETS = [x for s in SMALL + ["train.rule=extragradient", "train.steps_per_call=1"]
            for x in ("--set", s)]


def test_verify_covers_the_lookahead_gradient(cli_here):
  out = cli_here("--config", RING8, "--verify", *CLI_SETS)
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout[out.stdout.index("{"):])
  assert result["ok"] is True
  for net in ("discriminator", "generator"):
    pair = result["pairs"][f"extragradient_lookahead_vs_simultaneous/{net}"]
    assert pair["relative"] <= pair["tolerance"] == 1e-5


def test_run_checkpoints_and_resumes_through_the_cli(plugins_loaded, tmp_path, cli_here):
  """4 steps in-process (the function the CLI calls), then the CLI's flags and
  main() resume to 6, in process too (test_cli_run resumes in a real process)."""
  workdir = tmp_path / "run"
  train_tiny(workdir, ["train.rule=extragradient", "train.steps_per_call=1"])
  assert (workdir / "checkpoints" / "ckpt-4.index").exists()
  assert "rule extragradient" in (workdir / "train.log").read_text()
  out = cli_here("--config", RING8, "--workdir", workdir, *CLI_SETS,
                *[x for s in RUN_SETS for x in ("--set", s)], "--set", "train.steps=6")
  assert out.returncode == 0, out.stderr[-3000:]
  assert re.search(r"resuming from \S+ckpt-4 at step 4$", out.stderr, re.M)
  records = [json.loads(line)["step"] for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert records == [4, 6]
  reader = tf.train.load_checkpoint(str(workdir / "checkpoints" / "ckpt-6"))
  iterations = {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
                if "iteration" in k}
  # Each network's optimizer: the extrapolation and the update, 6 steps.
  assert len(iterations) == 2 and all(int(v) == 12 for v in iterations.values()), iterations

"""Precision plugins: bfloat16 and float16 runs, one loss scale per step, penalties."""
import numpy as np
import pytest

from tfgan1.evaluation import sampling
from tfgan1 import registry

from tfgan1.engine import assembly as build

from tfgan1.runner import checkpoints
from tfgan1 import config as config_lib
from tfgan1.errors import UserError
from tfgan1.gan.networks import scaled_input_gradients
from tests.conftest import SHARED_MNIST

tf = build.tf
keras = build.keras

TINY = {"generator": {"name": "mlp", "hidden": [16, 16], "norm": "batch_norm"},
        "discriminator": {"name": "mlp", "hidden": [16, 16]},
        "loss": "hinge", "data": "ring8", "noise": {"dim": 4},
        "train": {"batch_size": 16}}


@pytest.fixture(autouse=True)
def float32_after():
  yield
  keras.mixed_precision.set_dtype_policy("float32")  # no policy leaks to other tests


def _poison(x, flag):
  """x unchanged; its gradient times inf while `flag` is on."""
  factor = tf.where(tf.convert_to_tensor(flag) > 0, float("inf"), 1.0)

  @tf.custom_gradient
  def inner(t):
    return tf.identity(t), lambda dy: dy * tf.cast(factor, dy.dtype)
  return inner(x)


@registry.LOSSES.register("test_overflow_hinge")
class OverflowHinge:
  """Hinge whose D or G gradient becomes inf on demand (an injected overflow)."""

  def __init__(self):
    self.poison_d = tf.Variable(0.0, trainable=False)
    self.poison_g = tf.Variable(0.0, trainable=False)

  def discriminator_loss(self, real_logits, fake_logits):
    real_logits = _poison(real_logits, self.poison_d)
    return tf.reduce_mean(tf.nn.relu(1.0 - real_logits) + tf.nn.relu(1.0 + fake_logits))

  def generator_loss(self, fake_logits, real_logits):
    return -tf.reduce_mean(_poison(fake_logits, self.poison_g))


def _run(overrides):
  from tfgan1.backends.tf2 import Run
  return Run(config_lib.from_dict(dict(TINY), overrides))


def _state(run):
  """Every weight of both networks and every optimizer variable, as numpy."""
  t = run.trainer
  models = [t.gan.generator, t.gan.discriminator]
  return ([v.numpy() for m in models for v in m.variables]
          + [v.numpy() for o in t.optimizers.values() for v in o.variables])


def _steps(run, n):
  for _ in range(n):
    metrics = run.trainer.train_step(run.iterator, run.rng)
  return {k: float(v) for k, v in metrics.items()}


def test_builtin_precisions_registered_and_checked(plugins_loaded):
  assert {"float32", "mixed_float16", "mixed_bfloat16"} <= set(registry.PRECISIONS.keys())
  assert config_lib.from_dict(dict(TINY)).precision is None  # Keras' float32
  with pytest.raises(UserError, match=r"precision.name: unknown precision 'float8'"):
    build.precision(config_lib.from_dict(dict(TINY), ["precision.name=float8"]))
  with pytest.raises(UserError, match=r"precision.initial_scale: 0.5 is not allowed"):
    build.precision(config_lib.from_dict(
        dict(TINY), ["precision.name=mixed_float16", "precision.initial_scale=0.5"]))


RULES = {"one_step_shared": ["train.rule=one_step"],
         "one_step_ttur": ["train.rule=one_step", "d_optimizer.learning_rate=4e-4"],
         "simultaneous": ["train.rule=simultaneous"],
         "alternating": ["train.rule=alternating", "train.n_d=2"]}


@pytest.mark.parametrize("rule,net,jit", [
    ("one_step_shared", "g", "false"), ("one_step_ttur", "d", "true"),
    ("simultaneous", "d", "false"), ("alternating", "g", "true")])
def test_overflow_in_one_network_skips_the_whole_step(plugins_loaded, tmp_path, rule, net, jit):
  run = _run(RULES[rule] + ["loss.name=test_overflow_hinge", "precision.name=mixed_float16",
                            "precision.initial_scale=1024", "ema.decay=0.5",
                            f"train.jit_compile={jit}"])
  t = run.trainer
  assert t.gan.generator.layers[1].compute_dtype == "float16"
  assert all(v.dtype == tf.float32 for v in t.gan.generator.trainable_variables)
  first = _steps(run, 2)  # slots hold real moments before the bad step
  assert first["loss_scale"] == 1024 and first["skipped_steps"] == 0
  before, ema_before = _state(run), [v.numpy() for v in t.ema.model.variables]
  getattr(t.gan.family, f"poison_{net}").assign(1.0)
  bad = _steps(run, 1)
  after = _state(run)
  assert len(before) == len(after)
  for x, y in zip(before, after):
    np.testing.assert_array_equal(x, y)
  for x, v in zip(ema_before, t.ema.model.variables):
    np.testing.assert_array_equal(x, v.numpy())
  assert bad["skipped_steps"] == 1 and bad["loss_scale"] == 512
  assert int(t.step.numpy()) == 3  # the step is counted: data and noise moved on
  getattr(t.gan.family, f"poison_{net}").assign(0.0)
  good = _steps(run, 1)
  assert good["skipped_steps"] == 1 and good["loss_scale"] == 512
  assert not np.array_equal(after[0], _state(run)[0])  # updates resume
  if rule == "one_step_shared":  # the scale and the count are in the checkpoint
    path = run.checkpoint.save(str(tmp_path / "ckpt"))
    resumed = _run(RULES[rule] + ["loss.name=test_overflow_hinge",
                                  "precision.name=mixed_float16", "ema.decay=0.5"])
    checkpoints.restore(resumed.checkpoint, path)
    assert float(resumed.trainer.guard.scaler.scale.numpy()) == 512
    assert int(resumed.trainer.guard.monitor.skipped.numpy()) == 1


def test_scale_grows_after_good_steps(plugins_loaded):
  run = _run(["precision.name=mixed_float16", "precision.initial_scale=4",
              "precision.growth_interval=2"])
  assert [_steps(run, 1)["loss_scale"] for _ in range(5)] == [4, 8, 8, 16, 16]


def test_penalty_input_gradients_survive_float16(plugins_loaded):
  """Input gradients of ~1e-9 underflow in float16; scaled, they match float32,
  and the penalty's gradient w.r.t. D's weights (double backprop) is unchanged."""
  def make(policy):
    keras.mixed_precision.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    d = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"),
                          keras.layers.Dense(1, dtype="float32")])
    for v in d.trainable_variables:
      v.assign(v * 1e-4)
    return d
  x = tf.random.stateless_normal([8, 4], seed=[1, 2])

  def penalty(d, scale):
    call = lambda t: tf.cast(d(t), tf.float32)
    fn = call if scale is None else lambda t: scaled_input_gradients(call, t, scale)
    with tf.GradientTape() as outer:
      with tf.GradientTape() as inner:
        inner.watch(x)
        total = tf.reduce_sum(fn(x))
      g = tf.cast(inner.gradient(total, x), tf.float32)
      value = tf.reduce_sum(tf.square(g))
    return g.numpy(), outer.gradient(value, d.trainable_variables)[0].numpy()

  want_g, want_w = penalty(make("float32"), None)
  got_g, got_w = penalty(make("float32"), tf.constant(1024.0))
  np.testing.assert_allclose(got_g, want_g, rtol=1e-6)
  np.testing.assert_allclose(got_w, want_w, rtol=1e-5, atol=1e-30)
  half = make("mixed_float16")
  raw_g, _ = penalty(half, None)
  scaled_g, _ = penalty(half, tf.constant(2.0 ** 15))
  assert np.abs(want_g).max() < 1e-7 and np.count_nonzero(raw_g) < raw_g.size // 2
  np.testing.assert_allclose(scaled_g, want_g, rtol=2e-2, atol=1e-3 * np.abs(want_g).max())


@pytest.mark.parametrize("config,extra", [
    ("ring8", ["generator.hidden=[32, 32]", "discriminator.hidden=[32, 32]",
               "train.batch_size=32", "eval.num_samples=200"]),
    ("mnist_dcgan", ["generator.base_channels=8", "discriminator.base_channels=8",
                     "train.batch_size=8", "eval.num_samples=16"])])
def test_bfloat16_end_to_end(plugins_loaded, root, tmp_path, monkeypatch, config, extra):
  from tfgan1.runner import reload as restore
  from tfgan1.runner import train
  from tfgan1.engine import verify
  if config == "mnist_dcgan" and not SHARED_MNIST.is_dir():
    pytest.skip("shared MNIST not found next to the repo")
  monkeypatch.chdir(root)  # mnist_dcgan's data path is relative to the repo
  cfg = config_lib.load(str(root / "configs" / f"{config}.yaml"), extra + [
      "precision.name=mixed_bfloat16", "train.steps=4", "train.log_every=2",
      "train.sample_every=4", "train.checkpoint_every=4"])
  record = train.train_and_evaluate(cfg, str(tmp_path))
  assert record["step"] == 4
  assert (tmp_path / "checkpoints" / "ckpt-4.index").exists()
  keras.mixed_precision.set_dtype_policy("float32")  # as a fresh tool process
  _, data, generator = restore.load_sampler(str(tmp_path))
  samples = sampling.sample(cfg, generator, 8, 0)
  assert samples.dtype == np.float32 and samples.shape[1:] == tuple(data.spec.shape)
  assert np.isfinite(samples).all()
  assert verify.main(cfg) == 0  # under bfloat16, with bfloat16's tolerance

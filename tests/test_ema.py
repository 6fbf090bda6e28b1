"""The EMA generator's BatchNorm statistics: its own, re-estimated on fresh noise
before it samples, evaluates or is saved (tfgan1.ema)."""
import numpy as np
import pytest

from tfgan1.backends.tf2 import Run
from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.engine import ema as ema_lib

tf, keras = build.tf, build.keras
RAW = {"generator": {"name": "mlp", "hidden": [16, 16], "norm": "batch_norm"},
       "discriminator": {"name": "mlp", "hidden": [16, 16]},
       "loss": "hinge", "data": "ring8", "noise": {"dim": 4},
       "optimizer": {"learning_rate": 0.01},
       "train": {"batch_size": 32, "steps": 20, "log_every": 10, "sample_every": 20,
                 "checkpoint_every": 10}, "ema": {"decay": 0.9, "bn_batches": 3}}


def _two_bn_model():
  keras.utils.set_random_seed(0)
  x = keras.Input((3,))
  h = keras.layers.BatchNormalization(center=True, scale=True)(x)
  h = keras.layers.Dense(4)(h)
  h = keras.layers.BatchNormalization(momentum=0.9)(h)
  model = keras.Model(x, h)
  bn1 = model.layers[1]
  bn1.gamma.assign([0.5, 2.0, 1.5])
  bn1.beta.assign([0.1, -0.3, 0.2])
  return model


def test_standing_statistics_average_each_layers_batch_statistics():
  """Each layer's batch mean and (biased) variance in training mode, averaged
  over the batches, computed here in numpy."""
  model = _two_bn_model()
  bn1, dense, bn2 = model.layers[1], model.layers[2], model.layers[3]
  rng = np.random.default_rng(0)
  batches = [rng.normal(1.0, 3.0, (64, 3)).astype(np.float32) for _ in range(3)]
  stats = {1: [], 2: []}
  for x in batches:
    x = x.astype(np.float64)
    stats[1].append((x.mean(0), x.var(0)))
    y = (bn1.gamma.numpy() * (x - x.mean(0)) / np.sqrt(x.var(0) + bn1.epsilon)
         + bn1.beta.numpy())
    h = y @ dense.kernel.numpy() + dense.bias.numpy()
    stats[2].append((h.mean(0), h.var(0)))
  ema_lib.standing_statistics(model, iter(batches))
  for layer, key in ((bn1, 1), (bn2, 2)):
    np.testing.assert_allclose(layer.moving_mean.numpy(),
                               np.mean([m for m, _ in stats[key]], 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               np.mean([v for _, v in stats[key]], 0), rtol=1e-5, atol=1e-6)
  assert bn2.momentum == 0.9 and bn1.momentum == 0.99  # put back


def test_calibrate_is_deterministic_and_off_at_zero_batches():
  model = _two_bn_model()
  draw = lambda rng, n: rng.normal([n, 3])
  moving = lambda: [v.numpy() for v in model.non_trainable_variables]
  before = moving()
  ema_lib.calibrate(model, draw, 0, 16, seed=0)
  assert all(np.array_equal(a, b) for a, b in zip(moving(), before))
  ema_lib.calibrate(model, draw, 4, 16, seed=0)
  once = moving()
  ema_lib.calibrate(model, draw, 4, 16, seed=0)
  assert all(np.array_equal(a, b) for a, b in zip(moving(), once))
  assert min(np.abs(a - b).max() for a, b in zip(once, before)) > 1e-3


def test_generator_ema_calibrates_once_per_step():
  model = _two_bn_model()
  ema = ema_lib.GeneratorEMA(model, keras, 0.9, 0, bn_batches=2,
                             noise_fn=lambda rng, n: rng.normal([n, 3]), batch_size=16)
  bn = ema_lib.batch_norm_layers(ema.model)[0]
  ema.calibrate(step=5)
  calibrated = bn.moving_mean.numpy()
  bn.moving_mean.assign(calibrated + 1.0)  # as the next update's copy would
  ema.calibrate(step=5)
  np.testing.assert_array_equal(bn.moving_mean.numpy(), calibrated + 1.0)
  ema.calibrate(step=6)
  np.testing.assert_array_equal(bn.moving_mean.numpy(), calibrated)


def _own_statistics(model, noise_batches):
  """The BN layers' (mean, variance) averaged over `noise_batches`, read through a
  functional model that outputs each BN layer's input (not the momentum route)."""
  layers = ema_lib.batch_norm_layers(model)
  probe = keras.Model(model.inputs, [layer.input for layer in layers])
  outs = [probe(z, training=True) for z in noise_batches]
  return [(np.mean([o[i].numpy().mean(0) for o in outs], 0),
           np.mean([o[i].numpy().var(0) for o in outs], 0)) for i in range(len(layers))]


def _calibration_noise(config):
  rng = tf.random.Generator.from_seed(config.seed + ema_lib._CALIBRATION_SEED_OFFSET)  # pylint: disable=protected-access
  return [rng.normal([config.train.batch_size, config.noise.dim])
          for _ in range(config.ema.bn_batches)]


def _statistics(model):
  return [(layer.moving_mean.numpy(), layer.moving_variance.numpy())
          for layer in ema_lib.batch_norm_layers(model)]


def _assert_stats(actual, expected, tol):
  for (m, v), (em, ev) in zip(actual, expected, strict=True):
    np.testing.assert_allclose(m, em, rtol=tol, atol=tol)
    np.testing.assert_allclose(v, ev, rtol=tol, atol=tol)


def test_run_samples_and_saves_the_ema_generators_own_statistics(plugins_loaded, tmp_path):
  from tfgan1.runner import reload as restore  # pylint: disable=import-outside-toplevel
  from tfgan1.runner import train
  config = config_lib.from_dict(RAW)
  record = train.train_and_evaluate(config, str(tmp_path))
  assert record["step"] == 20
  _, _, ema_g = restore.load_sampler(str(tmp_path), ["ema.bn_batches=0"])  # as saved
  _, _, live_g = restore.load_sampler(str(tmp_path), ["ema=null"])
  saved = _statistics(ema_g)
  _assert_stats(saved, _own_statistics(ema_g, _calibration_noise(config)), 1e-5)
  assert max(np.abs(m - lm).max() for (m, _), (lm, _) in zip(saved, _statistics(live_g))) > 1e-3
  _, _, reloaded = restore.load_sampler(str(tmp_path))  # calibrating again changes nothing
  _assert_stats(_statistics(reloaded), saved, 0)

  run = Run(config)  # between host events the EMA holds G's copied statistics
  run.trainer.train_step(run.iterator, run.rng)
  _assert_stats(_statistics(run.trainer.ema.model), _statistics(run.trainer.gan.generator), 0)
  _assert_stats(_statistics(run.sampler()), _own_statistics(run.sampler(), _calibration_noise(config)),
                1e-5)


def test_bn_batches_zero_keeps_the_copied_statistics(plugins_loaded):
  run = Run(config_lib.from_dict(RAW, ["ema.bn_batches=0"]))
  run.trainer.train_step(run.iterator, run.rng)
  _assert_stats(_statistics(run.sampler()), _statistics(run.trainer.gan.generator), 0)


def test_keras_fit_ends_with_calibrated_ema(plugins_loaded):
  import tfgan1.keras  # pylint: disable=import-outside-toplevel
  config = config_lib.from_dict(RAW)
  data = build.dataset(config)
  keras.utils.set_random_seed(0)
  g, d = build.models(config, data.spec)
  gan = tfgan1.keras.GAN(g, d, ema={"decay": 0.9, "bn_batches": 2}, seed=0)
  gan.compile(optimizer=keras.optimizers.Adam(0.01))
  gan.fit(tf.data.Dataset.from_tensor_slices(tf.stack(list(data.dataset(32, 0).take(4)))),
          epochs=1, verbose=0)
  fitted = _statistics(gan.ema_generator)
  rng = tf.random.Generator.from_seed(ema_lib._CALIBRATION_SEED_OFFSET)  # pylint: disable=protected-access
  noise = [rng.normal([256, 4]) for _ in range(2)]
  _assert_stats(fitted, _own_statistics(gan.ema_generator, noise), 1e-5)
  assert max(np.abs(m - gm).max() for (m, _), (gm, _) in zip(fitted, _statistics(g))) > 1e-3


@pytest.mark.parametrize("value", ["-1", "2.5"])
def test_bad_bn_batches_is_refused(value):
  from tfgan1.errors import UserError  # pylint: disable=import-outside-toplevel
  with pytest.raises(UserError, match=f"ema.bn_batches.*{value}"):
    config_lib.from_dict(RAW, [f"ema.bn_batches={value}"])


def test_tf1_graph_backend_samples_the_calibrated_mirror(plugins_loaded):
  from tfgan1.backends.tf1_graph import run as tf1_run  # pylint: disable=import-outside-toplevel
  config = config_lib.from_dict(RAW, ["train.backend=tf1_graph"])
  run = tf1_run.Run(config)
  for _ in range(2):
    run.trainer.train_step(run.iterator, run.rng)
  sampler = run.sampler()  # pulls the graph's weights, then calibrates
  _assert_stats(_statistics(sampler), _own_statistics(sampler, _calibration_noise(config)), 1e-5)
  assert max(np.abs(m - gm).max() for (m, _), (gm, _) in
             zip(_statistics(sampler), _statistics(run.trainer.gan.generator))) > 1e-3

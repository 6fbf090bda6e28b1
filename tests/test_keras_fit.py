"""`tfgan1.keras.GAN.fit`: the CLI engine's step under Keras, and Keras' callbacks."""
import json

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator

from tfgan1 import api, registry

from tfgan1.engine import assembly as build
from tfgan1.errors import UserError

tf, keras = build.tf, build.keras
RAW = {"generator": {"name": "mlp", "hidden": [16, 16]},
       "discriminator": {"name": "mlp", "hidden": [16, 16]},
       "loss": "hinge", "data": "ring8", "noise": {"dim": 4}, "seed": 3,
       "train": {"batch_size": 32}, "optimizer": {"learning_rate": 1e-3}}
STEPS = 5


def _weights(*models):
  return [v.numpy() for m in models for v in m.weights]


def _max_diff(a, b):
  assert len(a) == len(b)
  return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def _config(rule):
  return api.with_plugins(api.load_config(RAW, [f"train.rule={rule}"]))


def _models(config, spec):
  keras.utils.set_random_seed(config.seed)  # as build.everything does
  return build.models(config, spec)


@pytest.mark.parametrize("rule,loss", [("one_step", "hinge"),
                                       ("alternating", "plugin_class")])
def test_fit_takes_the_cli_engine_steps(plugins_loaded, rule, loss):
  """Same seed, initial weights and batches: GAN.fit ends where the CLI's run loop does."""
  from tfgan1.backends.tf2 import Run
  import tfgan1.keras
  config = _config(rule)
  run = Run(config)
  batches = list(run.data.dataset(32, config.seed).take(STEPS))
  start = _weights(run.trainer.gan.generator, run.trainer.gan.discriminator)
  for _ in range(STEPS):
    run.trainer.train_step(run.iterator, run.rng)
  cli = _weights(run.trainer.gan.generator, run.trainer.gan.discriminator)

  g, d = _models(config, run.data.spec)
  assert _max_diff(_weights(g, d), start) == 0.0
  gan = tfgan1.keras.GAN(g, d, rule=rule, seed=config.seed,
                         loss=registry.LOSSES.get("hinge") if loss == "plugin_class" else loss)
  gan.compile(optimizer=keras.optimizers.Adam(1e-3))
  history = gan.fit(tf.data.Dataset.from_tensor_slices(tf.stack(batches)), epochs=1,
                    verbose=0)
  assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(history.history)
  assert int(gan.trainer.step.numpy()) == STEPS
  moved = _max_diff(cli, start)
  assert moved > 1e-3
  assert _max_diff(_weights(g, d), cli) < 1e-6 * max(1.0, moved)


def _gan(config, spec, **kwargs):
  import tfgan1.keras
  g, d = _models(config, spec)
  gan = tfgan1.keras.GAN(g, d, loss={"name": "hinge"}, seed=config.seed, ema=0.9, **kwargs)
  gan.compile(d_optimizer="adam", g_optimizer=keras.optimizers.Adam(2e-4))
  return gan


class _Crash(keras.callbacks.Callback):
  def on_train_batch_end(self, batch, logs=None):
    if self.model.trainer.step.numpy() == 6:  # epoch 2 of 3, its second batch
      raise RuntimeError("killed")


def test_backup_and_restore_resumes_an_interrupted_fit(plugins_loaded, tmp_path):
  config = _config("one_step")
  data = build.dataset(config)
  real = tf.data.Dataset.from_tensor_slices(
      tf.stack(list(data.dataset(32, 0).take(4))))
  straight = _gan(config, data.spec)
  straight.fit(real, epochs=3, verbose=0)

  backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
  killed = _gan(config, data.spec)
  with pytest.raises(RuntimeError, match="killed"):
    killed.fit(real, epochs=3, verbose=0, callbacks=[backup, _Crash()])
  assert int(killed.trainer.step.numpy()) == 6
  metadata = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
  assert metadata["epoch"] == 1  # the end of epoch 1 is the last backup

  resumed = _gan(config, data.spec)  # a new process: fresh weights, then the backup
  history = resumed.fit(real, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))])
  assert len(history.epoch) == 2 and history.epoch[0] == 1
  assert int(resumed.trainer.step.numpy()) == 12
  # Weights, both Adams' slots, the EMA copy, the engine step and the noise RNG
  # came back: the resumed fit ends exactly where the straight one did.
  models = lambda gan: (gan.generator, gan.discriminator, gan.ema_generator)
  assert _max_diff(_weights(*models(resumed)), _weights(*models(straight))) < 1e-6
  assert _max_diff(_weights(*models(straight)), _weights(*models(_gan(config, data.spec)))) > 1e-3


def test_keras_callbacks(plugins_loaded, tmp_path):
  """TensorBoard, ModelCheckpoint and EarlyStopping on a logged metric."""
  config = _config("simultaneous")
  data = build.dataset(config)
  real = tf.data.Dataset.from_tensor_slices(tf.stack(list(data.dataset(32, 0).take(2))))
  gan = _gan(config, data.spec, penalties=[{"name": "r1", "weight": 0.1}])
  stop = keras.callbacks.EarlyStopping(monitor="d_real", mode="max", min_delta=1e9,
                                       patience=1)
  checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "gan.weights.h5"),
                                               save_weights_only=True)
  import tfgan1.keras
  history = gan.fit(real, epochs=20, verbose=0, callbacks=[
      stop, checkpoint, keras.callbacks.TensorBoard(str(tmp_path / "tb")),
      tfgan1.keras.SampleGrid(str(tmp_path / "tb"), every=3)])
  assert history.epoch == [0, 1]  # no improvement of 1e9: stopped after patience
  assert "penalty/r1" in history.history
  acc = event_accumulator.EventAccumulator(str(tmp_path / "tb" / "train"))
  acc.Reload()
  tags = set(acc.Tags()["tensors"])
  assert {"epoch_loss_d", "epoch_loss_g", "epoch_d_real"} <= tags
  # SampleGrid: the samples picture at batch 3 and at the end (4 batches), and hparams.
  assert [e.step for e in acc.Tensors("samples")] == [3, 4]
  assert "_hparams_/session_start_info" in tags
  from tensorboard.plugins.hparams import plugin_data_pb2
  start = plugin_data_pb2.HParamsPluginData.FromString(
      acc.SummaryMetadata("_hparams_/session_start_info").plugin_data.content).session_start_info
  assert start.hparams["rule"].string_value == "one_step"
  assert start.hparams["one_step_form"].string_value == "fused"
  assert start.hparams["precision"].string_value == "float32"
  # One tag per learning rate: Keras' `learning_rate` is D's, `lr_g` G's.
  assert {"epoch_learning_rate", "epoch_lr_g"} <= tags and "epoch_lr_d" not in tags, tags
  # A whole GAN is refused in one line (default ModelCheckpoint too); G alone saves.
  default_checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "gan.keras"))
  default_checkpoint.set_model(gan)
  for save in (lambda: gan.save(str(tmp_path / "gan.keras")),
               lambda: default_checkpoint.on_epoch_end(0, {})):
    with pytest.raises(UserError, match=r"^GAN.save: .* save_weights_only=True"):
      save()
  gan.generator.save(str(tmp_path / "g.keras"))
  z = tf.random.normal([5, 4])
  np.testing.assert_allclose(keras.saving.load_model(str(tmp_path / "g.keras"))(z),
                             gan.generator(z), atol=1e-6)
  again = _gan(config, data.spec, penalties=["r1"])
  again.load_weights(str(tmp_path / "gan.weights.h5"))
  assert _max_diff(_weights(again.generator, again.discriminator),
                   _weights(gan.generator, gan.discriminator)) == 0.0
  assert gan.predict(tf.zeros([3, 4]), verbose=0).shape == (3, 2)


def test_bad_arguments_are_one_line_errors(plugins_loaded):
  import tfgan1.keras
  config = _config("one_step")
  g, d = _models(config, build.dataset(config).spec)
  with pytest.raises(UserError, match=r"^loss.name: unknown loss 'hinj'; known: .*hinge"):
    tfgan1.keras.GAN(g, d, loss="hinj")
  with pytest.raises(UserError, match=r"^train.rule: 'two_step' is not allowed; choose one of"):
    tfgan1.keras.GAN(g, d, rule="two_step")
  with pytest.raises(UserError, match="^compile: give both"):
    tfgan1.keras.GAN(g, d).compile(d_optimizer="adam")


def test_fit_with_the_shared_form(plugins_loaded):
  """fit and train_on_batch train one_step_form="shared" as "fused" (to float32
  rounding), and refuse it for a D with BatchNorm before any step."""
  import tfgan1.keras
  config = _config("one_step")
  spec = api.with_plugins(config) and build.dataset(config).spec
  batches = tf.random.stateless_normal([STEPS * 32, 2], seed=[5, 6])
  ends = {}
  for form in ("fused", "shared"):
    g, d = _models(config, spec)
    gan = tfgan1.keras.GAN(g, d, loss="non_saturating", one_step_form=form,
                           seed=config.seed)
    gan.compile(optimizer=keras.optimizers.Adam(1e-3))
    gan.fit(batches, batch_size=32, epochs=1, verbose=0)
    gan.train_on_batch(batches[:32])  # one more update, checked at its own batch size
    assert gan.trainer.step.numpy() == STEPS + 1
    ends[form] = _weights(g, d)
  assert _max_diff(ends["fused"], ends["shared"]) < 1e-5
  g, _ = _models(config, spec)
  x = keras.Input([2])
  h = keras.layers.BatchNormalization()(keras.layers.Dense(8)(x))
  d = keras.Model(x, keras.layers.Dense(1)(h))
  gan = tfgan1.keras.GAN(g, d, one_step_form="shared")
  gan.compile(optimizer="adam")
  refused = "train.one_step_form: 'shared' needs .* this discriminator moves"
  with pytest.raises(UserError, match=refused):
    gan.fit(batches, batch_size=32, epochs=1, verbose=0)
  with pytest.raises(UserError, match=refused):
    gan.train_on_batch(batches[:32])
  assert gan.trainer.step.numpy() == 0

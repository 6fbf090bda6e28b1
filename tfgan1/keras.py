"""`tfgan1.keras.GAN`: train a GAN with Keras `fit`, on the engine's own step.

    import tfgan1.keras
    gan = tfgan1.keras.GAN(generator, discriminator, loss="hinge")
    gan.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
    gan.fit(real_dataset, epochs=10, callbacks=[keras.callbacks.TensorBoard("logs"),
                                                tfgan1.keras.SampleGrid("logs", every=500)])

`train_step` hands the batch to `tfgan1.engine.trainer.Trainer.update_on`, the very
update the CLI's run loop takes: the same losses, rules, penalties, EMA and
noise draws, no second implementation. Keras brings the loop, the callbacks
and the weight files.
"""
import dataclasses

from tfgan1 import tfimport  # first: imports TensorFlow without its start-up chatter
from tfgan1 import config as config_lib
from tfgan1.config import schema as config_schema
from tfgan1.engine import assembly
from tfgan1.engine import noise as noise_lib
from tfgan1.engine.ema import GeneratorEMA
from tfgan1.engine.optimizers import OptimizerRoles
from tfgan1.engine.rules import rule_class
from tfgan1.engine.trainer import Trainer
from tfgan1.errors import UserError
from tfgan1.gan import discriminator_calls
from tfgan1.gan.networks import Networks
from tfgan1.keras_callbacks import SampleGrid  # pylint: disable=unused-import  (tfgan1.keras.SampleGrid)
from tfgan1.output import cpp_log_filter
from tfgan1.registry import loader as plugin_loader

tf = tfimport.tensorflow()
keras = assembly.keras


def _family(loss):
  """A loss family from a registered name, a `{name, **kwargs}` dict, a plugin
  class (called without arguments) or a plugin instance."""
  if isinstance(loss, (str, dict)):
    plugin_loader.load_entry_points()
    return assembly.loss_family(config_schema.build(config_lib.PluginSpec, loss, "loss"))
  if isinstance(loss, type):
    loss = loss()
  if not (hasattr(loss, "discriminator_loss") and hasattr(loss, "generator_loss")):
    raise UserError(f"loss: {loss!r} is not allowed; expected a registered loss name, "
                    "a {name: ..., **kwargs} dict or an object with "
                    "discriminator_loss and generator_loss")
  return loss


def _loss_name(loss):
  """The name an error message gives `loss` (a name, a dict or a plugin)."""
  if isinstance(loss, str):
    return loss
  if isinstance(loss, dict):
    return loss.get("name")
  return loss.__name__ if isinstance(loss, type) else type(loss).__name__


def _penalties(penalties):
  """PenaltyTerms from names or `{name, weight, every, **kwargs}` dicts."""
  if penalties:
    plugin_loader.load_entry_points()
  specs = config_schema.check_value(
      config_lib.Config.__annotations__["penalties"], list(penalties), "penalties")
  return assembly.penalty_terms(specs)


def _train_config(rule, one_step_form, lambda_, n_d, n_g, g_top_k):
  raw = {"rule": rule, "one_step_form": one_step_form, "lambda": lambda_,
         "n_d": n_d, "n_g": n_g, "g_top_k": g_top_k}
  return config_schema.build(config_lib.TrainConfig, raw, "train")


_EMA_BN_BATCH = 256  # calibration batch size: fit's batch size is not known up front


def _ema(generator, ema, noise_fn, seed):
  if ema is None:
    return None
  raw = {"decay": ema} if isinstance(ema, (int, float)) else ema
  cfg = config_schema.build(config_lib.EmaConfig, raw, "ema")
  return GeneratorEMA(generator, keras, cfg.decay, cfg.start, bn_batches=cfg.bn_batches,
                      noise_fn=noise_fn, batch_size=_EMA_BN_BATCH, seed=seed)


def _networks(generator, discriminator, loss, penalties, train_config):
  family = _family(loss)
  return Networks(generator, discriminator, family, _penalties(penalties),
                  g_top_k=assembly.g_top_k(train_config.g_top_k, family, _loss_name(loss)))


def _noise_fn(generator, distribution):
  cfg = config_schema.build(config_lib.NoiseConfig,
                            {"dim": _latent_dim(generator), "distribution": distribution},
                            "noise")
  return noise_lib.noise_sampler(cfg)


def _optimizer_roles(optimizer, d_optimizer, g_optimizer, rule):
  """`compile`'s optimizers as OptimizerRoles: D's and G's own, or one (the
  joint one for a rule that has one, else D's, with a fresh copy for G)."""
  if (d_optimizer is None) != (g_optimizer is None):
    raise UserError("compile: give both d_optimizer and g_optimizer, or optimizer alone")
  if d_optimizer is not None:
    return OptimizerRoles(d=keras.optimizers.get(d_optimizer),
                          g=keras.optimizers.get(g_optimizer))
  if optimizer is None:
    raise UserError("compile: optimizer is missing; give optimizer= or "
                    "d_optimizer= and g_optimizer=")
  one = keras.optimizers.get(optimizer)
  if rule_class(rule).joint_optimizer:
    return OptimizerRoles(joint=one)
  return OptimizerRoles(d=one, g=one.__class__.from_config(one.get_config()))


def _batch_size(x, batch_size):
  """The batch `fit` or `train_on_batch` will hand the step first."""
  if isinstance(x, tf.data.Dataset):
    real, _, _ = keras.utils.unpack_x_y_sample_weight(next(iter(x)))
    return int(tf.shape(real)[0])
  return min(batch_size, len(x))


def _latent_dim(generator):
  try:
    return int(generator.input_shape[-1])
  except (AttributeError, ValueError, TypeError):
    raise UserError("GAN: cannot tell the generator's noise size from its input "
                    "shape; build it with an Input of shape [latent_dim]") from None


_SAVE_REFUSED = (
    "cannot hold a whole tfgan1.keras.GAN: its loss plugin, update rule and engine "
    "state are not Keras objects that a .keras file can rebuild; save the weights "
    "(gan.save_weights('x.weights.h5'), or ModelCheckpoint(..., save_weights_only=True)) "
    "and build the GAN again to load them, or save gan.generator alone (a plain Keras "
    "model) to sample")


def _check_per_sample(gan, x, batch_size):
  """The `shared` form's test of D (`tfgan1.gan.discriminator_calls`), once per batch size.

  In `fit` and `train_on_batch`, which run eagerly before Keras traces the
  step: the test compares D's logits as numbers, which a traced step cannot.
  """
  cfg = gan.train_config
  if cfg.rule != "one_step" or cfg.one_step_form != "shared":
    return
  batch = _batch_size(x, batch_size)
  if batch in gan.per_sample_checked:
    return
  fake = gan.generator(tf.zeros([batch, _latent_dim(gan.generator)]), training=False)
  discriminator_calls.check_per_sample(gan.discriminator, fake, name="this discriminator")
  gan.per_sample_checked.append(batch)


class GAN(keras.Model):
  """A generator and a discriminator trained by `fit` with a tfgan1 update rule.

  Args:
    generator: a built Keras model from noise `[batch, latent_dim]` to samples.
    discriminator: a built Keras model from samples to logits.
    loss: a registered loss name (`"hinge"`, `"non_saturating"`, ...), a
      `{"name": ..., **kwargs}` dict, or a loss plugin class or object.
    rule: a registered update rule (`tfgan1.registry.RULE_MODULES`):
      `"one_step"`, `"simultaneous"`, `"alternating"`, ...
    penalties: names or `{"name", "weight", "every", **kwargs}` dicts.
    lambda_: G's weight in the one-step loss.
    ema: None, a decay (`0.999`) or `{"decay", "start", "bn_batches"}`: an EMA
      copy of G, `ema_generator`, updated after every step; `fit` ends by
      calibrating its BatchNorm statistics (`calibrate_ema`).
    one_step_form: `"fused"`, `"shared"`, `"stateless"` or `"classic"` (see
      docs/guide/update-rules.md); `fit` and `train_on_batch` refuse `"shared"` for a
      batch-coupled D.
    n_d: alternating: D updates per step (each on the same Keras batch).
    n_g: alternating: G updates per step.
    g_top_k: the fraction of each fake batch, highest D scores first, that G's
      loss reads (top-k training, Sinha et al. 2020); 1 reads all.
    noise: `"normal"` or `"uniform"`, the noise `fit` draws for G.
    seed: seeds the noise generator (and nothing else: build the networks
      under `keras.utils.set_random_seed` for reproducible initial weights).
    **kwargs: passed to `keras.Model` (`name`, ...).

  Attributes:
    generator, discriminator: the two Keras models, trained in place.
    ema_generator: the EMA copy of G, or None.
    trainer: the `tfgan1.engine.trainer.Trainer` behind `train_step` (after `compile`).
  """

  def __init__(self, generator, discriminator, loss="hinge", rule="one_step",
               penalties=(), lambda_=1.0, ema=None, *, one_step_form="fused",
               n_d=1, n_g=1, g_top_k=1.0, noise="normal", seed=0, **kwargs):
    super().__init__(**kwargs)
    if not (generator.built and discriminator.built):
      raise UserError("GAN: generator and discriminator must be built models "
                      "(call each once on a batch, or give them an Input)")
    self.generator = generator
    self.discriminator = discriminator
    self.train_config = _train_config(rule, one_step_form, lambda_, n_d, n_g, g_top_k)
    self.networks = _networks(generator, discriminator, loss, penalties, self.train_config)
    self.noise_fn = _noise_fn(generator, noise)
    self.noise_rng = tf.random.Generator.from_seed(seed)
    self._ema = _ema(generator, ema, self.noise_fn, seed)
    self.ema_generator = self._ema.model if self._ema is not None else None
    # The engine's step counter and the noise RNG state, as one Keras variable,
    # so save_weights / BackupAndRestore carry them and a resumed fit draws the
    # noise an uninterrupted one would.
    self.engine_state = self.add_weight(shape=(4,), dtype="int64", initializer="zeros",
                                        trainable=False, name="engine_state")
    self.trainer = None
    self.per_sample_checked = []  # batch sizes `shared` has checked D at
    self.built = True

  def compile(self, optimizer=None, d_optimizer=None, g_optimizer=None,
              jit_compile=False, **kwargs):
    """Sets the optimizers and builds the engine's train step.

    Args:
      optimizer: one optimizer (name or instance). With the one-step rule it
        is shared by D and G (one gradient call, one update); with the other
        rules D gets it and G a fresh copy of its config.
      d_optimizer: D's own optimizer (give `g_optimizer` too): TTUR.
      g_optimizer: G's own optimizer.
      jit_compile: XLA-compile the update (the engine's `train.jit_compile`).
      **kwargs: passed to `keras.Model.compile` (`steps_per_execution`, ...).
    """
    opts = _optimizer_roles(optimizer, d_optimizer, g_optimizer, self.train_config.rule)
    cfg = dataclasses.replace(self.train_config, jit_compile=bool(jit_compile))
    self.trainer = Trainer(self.networks, cfg, opts, self.noise_fn, self._ema)
    self.g_optimizer = opts.get("g")  # saved with the weights (D's or the joint
    # one is Keras's `optimizer`, which its callbacks read the learning rate from)
    super().compile(optimizer=opts.get("joint", opts.get("d")), jit_compile=False, **kwargs)
    self._sync_state_to_engine()

  def fit(self, x=None, y=None, **kwargs):  # pylint: disable=arguments-differ
    """`keras.Model.fit` on batches of real samples (a `tf.data.Dataset` or an
    array with `batch_size`); G's noise is drawn for every step. See
    `keras.Model.fit` for the arguments (`epochs`, `callbacks`, ...)."""
    if isinstance(x, tf.data.Dataset):
      # Keras would warn that its default shuffle=True is ignored for datasets.
      kwargs.setdefault("shuffle", False)
    _check_per_sample(self, x, kwargs.get("batch_size") or 32)
    history = super().fit(x, y, **kwargs)
    self.calibrate_ema()
    return history

  def train_on_batch(self, x, y=None, **kwargs):  # pylint: disable=arguments-differ
    """`keras.Model.train_on_batch` on one batch of real samples: one update."""
    _check_per_sample(self, x, len(x))
    return super().train_on_batch(x, y, **kwargs)

  def calibrate_ema(self):
    """Re-estimates `ema_generator`'s BatchNorm statistics on fresh noise (its
    own, not G's: see `tfgan1.engine.ema`); `fit` does this when it ends. Call it
    before sampling the EMA generator from a callback. Returns it (or None)."""
    return self._ema.calibrate() if self._ema is not None else None

  def call(self, noise, training=False):
    """G's samples for a noise batch: `gan(z)` and `gan.predict(z)` generate."""
    return self.generator(noise, training=training)

  def train_step(self, data):
    """One engine update on Keras' batch of real samples; returns its metrics."""
    real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    metrics = self.trainer.update_on([real] * self.trainer.batches_per_step, self.noise_rng)
    with tf.control_dependencies(list(metrics.values())):
      self.engine_state.assign(tf.concat([self.trainer.step[None], self.noise_rng.state], 0))
    # Keras logs its `optimizer`'s rate (the joint or D's) as `learning_rate`:
    # the engine's own name for that rate would chart it twice.
    return {k: v for k, v in metrics.items() if k not in ("lr", "lr_d")}

  def save(self, filepath, *args, **kwargs):  # pylint: disable=unused-argument
    """Refused in one line (`_SAVE_REFUSED`); save_weights and generator.save work."""
    raise UserError(f"GAN.save: {str(filepath)!r} {_SAVE_REFUSED}")

  def make_train_function(self, force=False):
    """Keras' train function, its first call free of grappler's harmless
    remapper line (see `tfgan1.output.cpp_log_filter`)."""
    function = super().make_train_function(force)
    if function is not None and not hasattr(function, "__wrapped__"):
      self.train_function = cpp_log_filter.quiet_first_call(function)
    return self.train_function

  def load_own_variables(self, store):
    """Keras restores weights (load_weights, BackupAndRestore): the engine
    step and noise state follow."""
    super().load_own_variables(store)
    self._sync_state_to_engine()

  def _sync_state_to_engine(self):
    state = self.engine_state.numpy()
    if self.trainer is None or not state.any():
      return  # nothing trained yet: the seeded RNG and step 0 stand
    self.trainer.step.assign(state[0])
    self.noise_rng.state.assign(state[1:])

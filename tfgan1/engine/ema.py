"""An exponential moving average of the generator's weights (Yazici et al. 2019).

The averaged copy is used for sampling, evaluation and export. Before `start`
the copy simply tracks the generator.

BatchNorm statistics cannot be averaged like weights: G's running means
describe G's own activations, not those of the averaged weights. Every step
copies them (cheap, and what the EMA reads between host events); before the
copy is sampled, evaluated or saved, `calibrate` replaces them with the
averaged network's own statistics on fresh noise ("standing statistics",
Brock et al. 2019, BigGAN); docs/BENCHMARKS.md, "EMA BatchNorm statistics",
shows what it changes.
"""
import numpy as np

from tfgan1 import tfimport

tf = tfimport.tensorflow()

_CALIBRATION_SEED_OFFSET = 2_000_003  # apart from the train RNG and the fixed sample noise


class GeneratorEMA:
  """Holds `model`, a clone of the generator whose weights are the EMA.

  `noise_fn(rng, n)` (G's input: noise, or (noise, labels)), `batch_size`,
  `bn_batches` and `seed` set `calibrate`; `bn_batches=0` keeps G's copied
  statistics.
  """

  def __init__(self, generator, keras_module, decay, start, *, bn_batches=0,
               noise_fn=None, batch_size=256, seed=0):
    self.source = generator
    self.model = keras_module.models.clone_model(generator)
    self.model.set_weights(generator.get_weights())
    self.decay = decay
    self.start = start
    self.bn_batches = bn_batches if noise_fn is not None else 0
    self.noise_fn = noise_fn
    self.batch_size = batch_size
    self.seed = seed
    self._calibrated_at = None  # the step of the last calibration

  def update(self, step):
    """Averages after optimizer step `step` (a scalar int64 tensor)."""
    decay = tf.where(step <= self.start, 0.0, self.decay)
    for avg, value in zip(self.model.trainable_variables, self.source.trainable_variables):
      avg.assign(decay * avg + (1.0 - decay) * value)
    for avg, value in zip(self.model.non_trainable_variables,
                          self.source.non_trainable_variables):
      avg.assign(value)

  def calibrate(self, step=None):
    """Sets `model`'s BatchNorm statistics to its own (see the module doc); returns it.

    `step` (an int): a second call at the same step does nothing, so a step that
    samples, evaluates and saves calibrates once (`update` moves the step on).
    """
    if step is None or step != self._calibrated_at:
      calibrate(self.model, self.noise_fn, self.bn_batches, self.batch_size, self.seed)
      self._calibrated_at = step
    return self.model


def from_config(generator, keras_module, config, noise_fn):
  """The GeneratorEMA of a run's `config` (its `ema` section must be set)."""
  return GeneratorEMA(generator, keras_module, config.ema.decay, config.ema.start,
                      bn_batches=config.ema.bn_batches, noise_fn=noise_fn,
                      batch_size=config.train.batch_size, seed=config.seed)


def calibrate(model, noise_fn, batches, batch_size, seed):
  """`model` with BatchNorm statistics from `batches` fresh noise batches of
  `noise_fn(rng, batch_size)`; unchanged when `batches` is 0 or it has no BatchNorm.

  Deterministic: the same weights give the same statistics, so the run, a
  resumed run and a tool reloading its checkpoint agree.
  """
  if batches and batch_norm_layers(model):
    rng = tf.random.Generator.from_seed(seed + _CALIBRATION_SEED_OFFSET)
    standing_statistics(model, (noise_fn(rng, batch_size) for _ in range(batches)))
  return model


def batch_norm_layers(model):
  """The BatchNormalization layers of `model` (Keras 3 or tf_keras), nested
  layers and models included; renorm layers (other statistics) are left out."""
  flatten = getattr(model, "_flatten_layers", None)  # both Kerases; tracks sublayers
  layers = flatten(include_self=False) if flatten else getattr(model, "layers", ())
  return [layer for layer in layers
          if any(c.__name__ == "BatchNormalization" for c in type(layer).__mro__)
          and not getattr(layer, "renorm", False)]


def standing_statistics(model, inputs):
  """Sets every BatchNorm's moving mean and variance to their averages over the
  batches `inputs` (noise, or (noise, labels)), run in training mode: each layer
  sees the batch statistics it was trained with.

  Per-batch variances are averaged (as BigGAN does), which leaves out the
  spread of the batch means: negligible at training batch sizes.
  """
  layers = batch_norm_layers(model)
  momenta = [layer.momentum for layer in layers]
  sums = [[0.0, 0.0] for _ in layers]
  count = 0
  try:
    for layer in layers:
      layer.momentum = 0.0  # read per eager call: the moving stats become the batch's
    for z in inputs:
      noise, labels = (z[0], z[1]) if isinstance(z, (tuple, list)) else (z, None)
      model(noise if labels is None else [noise, labels], training=True)
      for layer, acc in zip(layers, sums):
        acc[0] += layer.moving_mean.numpy()
        acc[1] += layer.moving_variance.numpy()
      count += 1
  finally:
    for layer, momentum in zip(layers, momenta):
      layer.momentum = momentum
  for layer, (mean, var) in zip(layers, sums):
    layer.moving_mean.assign(np.asarray(mean / count, np.float32))
    layer.moving_variance.assign(np.asarray(var / count, np.float32))

"""Noise for sampling tools: truncation (BigGAN) and spherical interpolation.

Both are numpy-level helpers over a seeded `tf.random.Generator`, used by
`tools/sample.py`; `sample` draws what a run samples and evaluates. Truncation trades variety for fidelity: entries of a normal
noise vector beyond the threshold are redrawn until all lie inside it. A walk
interpolates along the great circle between two noise vectors, where a normal
latent's mass lies, instead of the straight line through the low-norm middle.
"""
import numpy as np

from tfgan1.errors import UserError

_MAX_ROUNDS = 10000


def truncated_normal(rng, shape, threshold):
  """Normal noise of `shape` with every |entry| <= threshold, by resampling.

  Entries already inside keep their values, so a mild truncation changes only
  the outliers of the plain draw with the same seed.
  """
  if not threshold > 0:
    raise UserError(f"--truncation: {threshold!r} is not allowed; must be > 0")
  z = rng.normal(shape).numpy()
  for _ in range(_MAX_ROUNDS):
    outside = np.abs(z) > threshold
    if not outside.any():
      return z.astype(np.float32)
    z = np.where(outside, rng.normal(shape).numpy(), z)
  raise UserError(f"--truncation: {threshold!r} is too small to reach by resampling; "
                  "use a threshold of about 0.05 or more")


_STANDING_BATCHES = 16  # as ema.bn_batches' default: 16 batches of train.batch_size
_STANDING_SEED = 7_000_003  # apart from the sampling and training seeds


def truncation_statistics(config, generator, threshold, num_classes=None):
  """Re-estimates `generator`'s BatchNorm statistics on truncated noise (BigGAN's
  "standing statistics" for the sampling distribution); no-op without BatchNorm.

  Statistics from untruncated noise normalise the narrower activations of
  truncated noise too little, so every sample slides toward one grey mean
  (fainter MNIST strokes). Re-estimated, the samples keep the untruncated mean
  and contrast and lose their outliers. Where BatchNorm directly follows the
  first linear layer, it also undoes most of the truncation's shrinkage, so
  variety drops only in the tails (docs/BENCHMARKS.md, "Truncation").
  """
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  from tfgan1.engine import ema  # pylint: disable=g-import-not-at-top  (imports TF)
  if not ema.batch_norm_layers(generator):
    return generator
  rng = tfimport.tensorflow().random.Generator.from_seed(config.seed + _STANDING_SEED)
  batch = config.train.batch_size
  labels = class_labels(batch, num_classes) if num_classes else None

  def batches():
    for _ in range(_STANDING_BATCHES):
      z = truncated_normal(rng, [batch, config.noise.dim], threshold)
      yield z if labels is None else (z, labels)
  ema.standing_statistics(generator, batches())
  return generator


def check_truncation(config, threshold):
  """Truncation is defined for normal noise; a uniform latent is refused."""
  if threshold is not None and config.noise.distribution != "normal":
    raise UserError(f"--truncation: {threshold!r} needs noise.distribution normal; "
                    f"this run draws {config.noise.distribution} noise")


def noise(config, rng, num, truncation=None):
  """[num, noise.dim] float32 noise drawn as the run draws it, or truncated."""
  check_truncation(config, truncation)
  if truncation is not None:
    return truncated_normal(rng, [num, config.noise.dim], truncation)
  from tfgan1.engine import noise as noise_lib  # pylint: disable=g-import-not-at-top  (imports TF)
  draw = noise_lib.noise_fn(config)
  # In chunks of 500, as runs always drew them, so a seed keeps its samples.
  return np.concatenate([draw(rng, min(500, num - i)).numpy()
                         for i in range(0, num, 500)])


def slerp(z0, z1, num):
  """`num` points from z0 to z1 (both included) along the great circle, [num, dim].

  The norm is interpolated linearly between the two ends; nearly parallel
  vectors fall back to a straight line.
  """
  if num < 2:
    raise UserError(f"--interpolate: {num} is not allowed; must be >= 2 (the two ends)")
  z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
  n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
  u0, u1 = z0 / max(n0, 1e-12), z1 / max(n1, 1e-12)
  omega = np.arccos(np.clip(np.dot(u0, u1), -1.0, 1.0))
  t = np.linspace(0.0, 1.0, num)[:, None]
  if omega < 1e-6:
    return ((1 - t) * z0 + t * z1).astype(np.float32)
  direction = (np.sin((1 - t) * omega) * u0 + np.sin(t * omega) * u1) / np.sin(omega)
  return (direction * ((1 - t) * n0 + t * n1)).astype(np.float32)


def walk(config, rng, num, truncation=None):
  """The noise of a `num`-step spherical walk between two fresh noise vectors."""
  ends = noise(config, rng, 2, truncation)
  return slerp(ends[0], ends[1], num)


def generate(generator, z, labels=None, chunk=500):
  """G's inference output for noise `z` (and int `labels`, for a conditional G),
  as float32 numpy, in chunks."""
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  tf = tfimport.tensorflow()
  z = tf.convert_to_tensor(z, tf.float32)
  if labels is not None:
    labels = tf.convert_to_tensor(np.asarray(labels), tf.int32)
  out = [np.asarray(generator(z[i:i + chunk] if labels is None else
                              [z[i:i + chunk], labels[i:i + chunk]], training=False))
         for i in range(0, len(z), chunk)]
  return np.concatenate(out).astype(np.float32)


def sample(config, generator, num, seed, labels=None, truncation=None):
  """`num` samples [num, *shape] of `generator` as float32 numpy, in the data's
  coordinates, from noise drawn as the run draws it with `seed` (or truncated
  at `truncation`). `labels` [num] (ints) go to a class-conditional generator."""
  from tfgan1 import tfimport  # pylint: disable=g-import-not-at-top
  rng = tfimport.tensorflow().random.Generator.from_seed(seed)
  return generate(generator, noise(config, rng, num, truncation), labels)


def class_labels(num, num_classes, classes=None):
  """`num` labels cycling through `classes` (default: all), so each is equally shown."""
  classes = list(range(num_classes)) if classes is None else list(classes)
  return np.array([classes[i % len(classes)] for i in range(num)], np.int32)


def class_rows(classes, per_class):
  """Labels for a grid with one row per class: each class `per_class` times."""
  return np.repeat(np.asarray(classes, np.int32), per_class)

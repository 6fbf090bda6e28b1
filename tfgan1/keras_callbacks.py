"""`tfgan1.keras.SampleGrid`: the CLI run's samples picture and hyperparameters
on a `fit` run's TensorBoard dashboard.

    gan.fit(real, epochs=10, callbacks=[
        keras.callbacks.TensorBoard("runs/fit"),
        tfgan1.keras.SampleGrid("runs/fit", every=500)])
"""
import numpy as np
from tensorboard.plugins.hparams import api as hp

from tfgan1 import tfimport
from tfgan1.errors import UserError
from tfgan1.output import pictures

tf = tfimport.tensorflow()
keras = tfimport.keras()
_SEED_OFFSET = 1_000_003  # as the CLI's fixed-noise grid: apart from the train noise


def fit_hparams(gan):
  """The hyperparameters of a `tfgan1.keras.GAN`, named as a CLI run's are."""
  cfg = gan.train_config
  optimizer = gan.optimizer
  rate = getattr(optimizer, "learning_rate", None)
  values = {"rule": cfg.rule, "lambda": cfg.lambda_, "g_top_k": cfg.g_top_k,
            "loss": type(gan.networks.family).__name__,
            "optimizer": type(optimizer).__name__.lower(),
            "generator": gan.generator.name, "discriminator": gan.discriminator.name,
            "precision": keras.config.floatx()}
  if cfg.rule == "one_step":
    values["one_step_form"] = cfg.one_step_form
  try:  # the rate now: a constant's value, or a schedule's at this step
    values["lr_d"] = float(np.asarray(rate))
  except (TypeError, ValueError):
    pass
  return values


def picture(samples):
  """The samples as one uint8 picture: a grid of images, or a scatter of 2-D points."""
  samples = np.asarray(samples, np.float32)
  if pictures.is_image(samples.shape[1:]):
    return pictures.image_grid(samples)
  if samples.ndim == 2 and samples.shape[1] >= 2:
    reach = float(np.abs(samples[:, :2]).max()) * 1.1 or 1.0
    return pictures.scatter_image(samples, np.zeros((0, 2)), (-reach, reach))
  raise UserError(f"SampleGrid: samples of shape {samples.shape[1:]} have no picture; "
                  "expected [H, W, C] images or 2-D points")


class SampleGrid(keras.callbacks.Callback):
  """Writes the `samples` image (fixed noise, the EMA generator when there is one)
  every `every` batches and at the end of `fit`, and the run's hyperparameters
  once, into `logdir/train`, beside `keras.callbacks.TensorBoard(logdir)`'s scalars.

  Args:
    logdir: the folder given to `keras.callbacks.TensorBoard`.
    every: batches between pictures.
    num: samples per picture.
    seed: the fixed noise's seed.
  """

  def __init__(self, logdir, every=500, num=64, seed=0):
    super().__init__()
    if not isinstance(every, int) or every < 1:
      raise UserError(f"SampleGrid: every={every!r} is not allowed; expected an int >= 1")
    self.logdir, self.every, self.num, self.seed = str(logdir), every, num, seed
    self._writer = None
    self._batches = 0

  def on_train_begin(self, logs=None):
    self._writer = tf.summary.create_file_writer(f"{self.logdir}/train")
    with self._writer.as_default(step=0):
      hp.hparams(fit_hparams(self.model))

  def on_train_batch_end(self, batch, logs=None):
    self._batches += 1
    if self._batches % self.every == 0:
      self.write(self._batches)

  def on_train_end(self, logs=None):
    if self._batches % self.every:
      self.write(self._batches)
    self._writer.close()

  def write(self, step):
    """The samples picture at `step` (batches since `fit` started)."""
    gan = self.model
    generator = gan.calibrate_ema() or gan.generator
    rng = tf.random.Generator.from_seed(self.seed + _SEED_OFFSET)
    samples = generator(gan.noise_fn(rng, self.num), training=False)
    with self._writer.as_default(step=step):
      tf.summary.image("samples", picture(samples)[None])
    self._writer.flush()

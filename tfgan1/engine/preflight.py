"""Checks a built run before its first step: sizes that cannot be allocated and
networks that do not fit the data fail here as one line, not mid-run."""
import os

from tfgan1 import registry
from tfgan1 import tfimport
from tfgan1.engine.plugin_calls import ALLOCATION_ERRORS, too_big
from tfgan1.errors import UserError, describe
from tfgan1.gan import discriminator_calls
from tfgan1.registry import contracts

tf = tfimport.tensorflow()


def _memory_bytes():
  try:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (AttributeError, ValueError, OSError):  # not POSIX: no up-front check
    return None


def check_noise_size(config):
  """A noise batch larger than the machine's memory fails here at once (TF's
  allocator would wait and retry for 10 s before it gives up)."""
  size = 4 * config.train.batch_size * config.noise.dim
  memory = _memory_bytes()
  if memory and size > memory:
    raise UserError(f"noise.dim: {config.noise.dim} x train.batch_size "
                    f"{config.train.batch_size} floats ({size / 2**30:.3g} GiB) cannot be "
                    f"allocated; this machine has {memory / 2**30:.3g} GiB")


def check_shapes(config, spec, the_gan, replicas=1):
  """One inference pass at the train batch size (per replica), so a network that
  does not fit the data (or the batch size) fails here as one line, not mid-run.
  Returns G's samples and their labels (None for unlabelled data)."""
  batch = config.train.batch_size // replicas
  what = "train.batch_size" + (f" / {replicas} replicas" if replicas > 1 else "")
  labels = tf.zeros([batch], tf.int32) if spec.num_classes else None
  with_labels = (lambda x: x) if labels is None else (lambda x: [x, labels])
  try:
    z = tf.zeros([batch, config.noise.dim])
    fake = the_gan.generator(with_labels(z), training=False)
  except ALLOCATION_ERRORS as e:
    raise too_big("generator", config.generator.name, e) from None
  except Exception as e:  # pylint: disable=broad-except  (any plugin failure)
    raise UserError(f"generator: {config.generator.name!r} fails on noise of shape "
                    f"{[batch, config.noise.dim]}: {describe(e)}") from None
  if tuple(fake.shape[1:]) != tuple(spec.shape):
    raise UserError(f"generator: {config.generator.name!r} makes samples of shape "
                    f"{tuple(fake.shape[1:])}; data {config.data.name!r} has {tuple(spec.shape)}")
  try:
    outputs = tf.cast(the_gan.discriminator(with_labels(fake), training=False), tf.float32)
  except Exception as e:  # pylint: disable=broad-except
    raise UserError(f"discriminator: {config.discriminator.name!r} fails on a batch of "
                    f"{batch} samples ({what}): {describe(e)}") from None
  try:  # a family that needs D's other outputs (acgan: the ACGAN head) says so here
    the_gan.discriminator_loss(outputs, outputs, labels, labels)
  except ValueError as e:
    raise UserError(f"loss: {config.loss.name!r} cannot read the outputs of discriminator "
                    f"{config.discriminator.name!r}: {describe(e)}") from None
  return fake, labels


def check_shared_form(config, the_gan, fake, labels):
  """The `shared` one-step form needs a D that scores each sample alone: a D
  whose architecture declares otherwise (`batch_coupled`), or that the probe
  catches (`discriminator_calls.check_per_sample`), is refused here."""
  train = config.train
  if train.rule == "one_step" and train.one_step_form == "shared":
    spec = config.discriminator
    arch = registry.ARCHITECTURES.get(spec.name, "discriminator.name")
    why = contracts.hook(arch, "architecture", "batch_coupled")(dict(spec.kwargs))
    if why:
      raise UserError(f"train.one_step_form: 'shared' is not allowed with discriminator "
                      f"{spec.name!r}: {why}; use 'fused'")
    discriminator_calls.check_per_sample(the_gan.discriminator, fake, labels,
                                         f"discriminator {config.discriminator.name!r}")

"""Helpers shared by the loss families and penalties: logits shapes, kwarg checks,
and the adapter base class of the non-relativistic loss families.

Kwarg checks raise `tfgan1.UserError` with one line naming the field, the bad
value and what is allowed, because the run prints exactly that line and exits.
"""
import functools
import inspect
import math
import numbers

import tensorflow as tf

from tfgan1.errors import UserError
from tfgan1.registry import LOSSES


def flat_logits(logits):
  """Returns `logits` (`[batch]` or `[batch, 1]`) as a float32 `[batch]` tensor.

  Both shapes are flattened the same way so that a `[batch, 1]` real tensor and a
  `[batch]` fake tensor never broadcast into a `[batch, batch]` matrix. The cast
  keeps the losses float32 when a mixed-precision D emits float16 logits.
  """
  logits = tf.cast(tf.convert_to_tensor(logits), tf.float32)
  rank = logits.shape.rank
  if rank == 2:
    if logits.shape[-1] not in (None, 1):
      raise ValueError(f"logits must have shape [batch] or [batch, 1], "
                       f"got {logits.shape}")
    return tf.reshape(logits, [-1])
  if rank != 1:
    raise ValueError(f"logits must have shape [batch] or [batch, 1], "
                     f"got {logits.shape}")
  return logits


def flattens_logits(loss_fn):
  """Decorates a loss function so its `*_logits` arguments arrive `flat_logits`-ed.

  Declared once here rather than written out in every function, so no loss can
  forget it; arguments passed by keyword are flattened too.
  """
  signature = inspect.signature(loss_fn)

  @functools.wraps(loss_fn)
  def flat_loss_fn(*args, **kwargs):
    bound = signature.bind(*args, **kwargs)
    for name, value in bound.arguments.items():
      if name.endswith("_logits"):
        bound.arguments[name] = flat_logits(value)
    return loss_fn(*bound.args, **bound.kwargs)

  return flat_loss_fn


def check_number(field, value, gt=None, ge=None):
  """Returns `value` as a float if it is a finite real number within bounds.

  Booleans are refused although Python counts them as ints: `clip: true` in a
  YAML file is a mistake, not 1.0.
  """
  bound = ""
  if gt is not None:
    bound = f" > {gt}"
  elif ge is not None:
    bound = f" >= {ge}"
  if (isinstance(value, bool) or not isinstance(value, numbers.Real)
      or not math.isfinite(value)):
    raise UserError(f"{field}: {value!r} is not allowed; must be a finite "
                    f"number{bound}")
  if (gt is not None and not value > gt) or (ge is not None and not value >= ge):
    raise UserError(f"{field}: {value!r} is not allowed; must be{bound}")
  return float(value)


def check_bool(field, value):
  """Returns `value` if it is a bool (YAML `true`/`false`), else raises."""
  if not isinstance(value, bool):
    raise UserError(f"{field}: {value!r} is not allowed; must be true or false")
  return value


def check_choice(field, value, choices):
  """Returns `value` if it is one of `choices`, else raises listing them."""
  if value not in choices:
    raise UserError(f"{field}: {value!r} is not allowed; choose one of: "
                    f"{', '.join(sorted(choices))}")
  return value


class NonRelativisticLoss:
  """Adapter base of a loss family whose L_G reads only D(G(z)).

  As TF-GAN pairs its `losses_impl.py` functions with thin adapters, a family
  names its pure D and G loss functions and subclasses this in a few lines::

      @LOSSES.register("hinge")
      class Hinge(common.NonRelativisticLoss):
        loss_functions = (hinge_discriminator_loss, hinge_generator_loss)

  The D function takes (real_logits, fake_logits), the G function fake_logits;
  both also get, by keyword, the instance attributes that `discriminator_kwargs`
  / `generator_kwargs` name (e.g. LSGAN's labels, which `__init__` checks).
  """

  loss_functions = (None, None)  # (D loss, G loss), set by each family
  discriminator_kwargs = ()
  generator_kwargs = ()

  def discriminator_loss(self, real_logits, fake_logits):
    kwargs = {name: getattr(self, name) for name in self.discriminator_kwargs}
    return self.loss_functions[0](real_logits, fake_logits, **kwargs)

  def generator_loss(self, fake_logits, real_logits):
    del real_logits  # Not relativistic.
    kwargs = {name: getattr(self, name) for name in self.generator_kwargs}
    return self.loss_functions[1](fake_logits, **kwargs)


def adversarial_family(value, heads):
  """The real/fake family that a head-reading family (one of `heads`) wraps: any
  other registered family whose L_G does not read D(x)."""
  if value in heads or value not in LOSSES:
    raise ValueError(f"loss.adversarial: {value!r} is not allowed; choose a loss family "
                     f"other than {' and '.join(heads)}: {', '.join(LOSSES.keys())}")
  family = LOSSES.get(value)()
  if getattr(family, "generator_needs_real", False):
    raise ValueError(f"loss.adversarial: {value!r} reads D(x) in L_G; "
                     "choose a non-relativistic family")
  return family

"""The built-in precision policies: `float32`, `mixed_bfloat16`, `mixed_float16`.

A precision plugin is a class registered in `PRECISIONS` whose instances have:
  * `policy`: the Keras dtype-policy name the core sets before building the
    networks (`keras.mixed_precision.set_dtype_policy`);
  * `loss_scale`: None, or `{"initial_scale": s, "growth_interval": n}` for one
    dynamic loss scale per train step (needed where small gradients underflow);
  * `verify_factor`: how much looser `--verify`'s relative tolerance is than
    float32's: the ratio of the compute dtype's rounding unit to float32's
    (2^-24), since the rules' gradients agree only to the compute precision.
Variables stay float32 under every policy (Keras' mixed policies keep them so);
the core casts D's logits to float32, and G's output layers are float32.
"""
from tfgan1.plugins.losses.common import check_number
from tfgan1.registry import PRECISIONS
from tfgan1.errors import UserError


@PRECISIONS.register("float32")
class Float32:
  """Everything in float32 (the default)."""
  policy = "float32"
  loss_scale = None
  verify_factor = 1.0


@PRECISIONS.register("mixed_bfloat16")
class MixedBfloat16:
  """bfloat16 compute, float32 variables (CPUs, TPUs, Ampere and later GPUs).

  bfloat16 has float32's exponent range, so nothing underflows sooner and no
  loss scale is needed. It keeps 8 significant bits (float32: 24), so where the
  one-step bracket's two D-gradients cancel (the classic form) they leave 2^-8 of
  their size, not 2^-24: `--verify`'s tolerance is 2^16 times float32's.
  """
  policy = "mixed_bfloat16"
  loss_scale = None
  verify_factor = 2.0 ** 16


@PRECISIONS.register("mixed_float16")
class MixedFloat16:
  """float16 compute, float32 variables, one dynamic loss scale per step (GPUs).

  float16 keeps 11 significant bits but its smallest normal number is 6e-5, so
  gradients are scaled by `initial_scale` (halved on overflow, doubled after
  `growth_interval` finite steps in a row; Keras' LossScaleOptimizer defaults).
  11 significant bits: `--verify`'s tolerance is 2^13 times float32's.
  """
  policy = "mixed_float16"
  verify_factor = 2.0 ** 13

  def __init__(self, initial_scale=2.0 ** 15, growth_interval=2000):
    initial = check_number("precision.initial_scale", initial_scale, ge=1)
    if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) \
        or growth_interval < 1:
      raise UserError(f"precision.growth_interval: {growth_interval!r} is not allowed; "
                      "expected an integer >= 1")
    self.loss_scale = {"initial_scale": initial, "growth_interval": growth_interval}

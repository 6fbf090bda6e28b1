"""Spectral normalization (Miyato et al. 2018, arXiv:1802.05957) that keeps D pure.

The wrapped layer computes with W / sigma(W), sigma estimated by power iteration
from a stored vector `u`, with the gradient flowing through sigma as in the
authors' code. Unlike `keras.layers.SpectralNormalization`, the forward pass
assigns nothing (Keras 3's runs a power iteration and writes W / sigma into the
kernel on every training call): the one-step loss calls D several times per
step and relies on every call being the same function of weights and input.
The stored `u` moves in `tfgan1_after_update()`, which the trainer calls once
after every D optimizer update.

Builders receive the Keras module as an argument (Keras 3 `keras` or Keras 2
`tf_keras`), so the class is made per module: `spectral_norm_wrapper(keras)`.
Supported wrapped layers are those D needs: `Dense` and `Conv2D`. The forward
re-implements their op with TF ops from the layer's config (a Keras 2 layer
cannot be called with a substituted kernel without assigning it).
"""
import tensorflow as tf

_CLASSES = {}


def l2_normalize(x, eps):
  # As the authors' code: x / (||x|| + eps), not max(||x||, eps).
  return x / (tf.sqrt(tf.reduce_sum(tf.square(x))) + eps)


def power_iteration(w_mat, u, iterations, eps):
  """(u, v) after `iterations` steps from `u` [1, out] on `w_mat` [in, out], no gradient."""
  w_mat = tf.stop_gradient(w_mat)
  u = tf.stop_gradient(u)
  v = None
  for _ in range(iterations):
    v = l2_normalize(tf.matmul(u, w_mat, transpose_b=True), eps)  # [1, in]
    u = l2_normalize(tf.matmul(v, w_mat), eps)                   # [1, out]
  return u, v


def _check_supported(keras, layer):
  """Raises ValueError for a layer this wrapper cannot re-implement exactly."""
  transpose = getattr(keras.layers, "Conv2DTranspose", None)
  # tf_keras's Conv2DTranspose subclasses Conv2D: rule it out first.
  if transpose is not None and isinstance(layer, transpose):
    supported = False
  elif isinstance(layer, keras.layers.Dense):
    supported = True
  elif isinstance(layer, keras.layers.Conv2D):
    config = layer.get_config()
    if config.get("groups", 1) != 1:
      raise ValueError(f"SpectralNorm: {layer.name!r} has groups="
                       f"{config['groups']}; only groups=1 is supported")
    if config.get("data_format") not in (None, "channels_last"):
      raise ValueError(f"SpectralNorm: {layer.name!r} has data_format="
                       f"{config['data_format']!r}; only channels_last is supported")
    supported = True
  else:
    supported = False
  if not supported:
    raise ValueError(f"SpectralNorm wraps Dense and Conv2D layers only; got "
                     f"{type(layer).__name__} {layer.name!r}")


def _pair(value):
  return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _make_class(keras):
  """The SpectralNorm class for one Keras module."""

  class SpectralNorm(keras.layers.Wrapper):
    """Applies `layer` with kernel W / sigma(W); the forward pass assigns nothing.

    Args:
      layer: a `Dense` or `Conv2D` layer of the same Keras module.
      power_iterations: power-iteration steps per forward pass and per update.
      eps: added to norms before dividing (the authors' 1e-12).

    Variables: the wrapped layer's, plus a non-trainable `u` of shape [1, out]
    drawn from a standard normal, the running estimate of W's top left-singular
    vector (W reshaped to [-1, out]).
    """

    def __init__(self, layer, power_iterations=1, eps=1e-12, **kwargs):
      _check_supported(keras, layer)
      if (isinstance(power_iterations, bool) or not isinstance(power_iterations, int)
          or power_iterations < 1):
        raise ValueError(f"SpectralNorm: power_iterations={power_iterations!r}; "
                         "expected an integer >= 1")
      if not eps > 0:
        raise ValueError(f"SpectralNorm: eps={eps!r}; expected a positive number")
      super().__init__(layer, **kwargs)
      self.power_iterations = power_iterations
      self.eps = float(eps)

    def build(self, input_shape=None):
      if not self.layer.built:
        self.layer.build(input_shape)
        self.layer.built = True
      self.u = self.add_weight(
          name="u", shape=(1, int(self.layer.kernel.shape[-1])),
          initializer=keras.initializers.RandomNormal(mean=0.0, stddev=1.0),
          trainable=False)
      self.built = True

    def _kernel_matrix(self):
      # float32 whatever the precision policy: the iteration divides by norms.
      kernel = tf.cast(tf.convert_to_tensor(self.layer.kernel), tf.float32)
      return kernel, tf.reshape(kernel, [-1, kernel.shape[-1]])

    def _stored_u(self):
      return tf.cast(tf.convert_to_tensor(self.u), tf.float32)

    def sigma(self):
      """The spectral-norm estimate the forward pass divides by (a tensor).

      sigma = v W u^T with u, v from power iteration under stop-gradient, so
      its gradient with respect to W is v^T u (the paper's eq. 12 term).
      """
      _, w_mat = self._kernel_matrix()
      u, v = power_iteration(w_mat, self._stored_u(), self.power_iterations, self.eps)
      return tf.reduce_sum(tf.matmul(v, w_mat) * u)

    def normalized_kernel(self):
      """W / sigma with the kernel's shape, differentiable in W (float32)."""
      kernel, _ = self._kernel_matrix()
      return kernel / self.sigma()

    def tfgan1_after_update(self):
      """Moves `u` by `power_iterations` steps on the current kernel.

      The trainer calls this once after every D optimizer update (every update
      rule), so all D calls within a step see the same `u` and D stays a pure
      function there. Each forward pass also iterates from the stored `u`, so
      sigma gets one more step than the stored vector. Returns the assign op.
      """
      _, w_mat = self._kernel_matrix()
      u, _ = power_iteration(w_mat, self._stored_u(), self.power_iterations, self.eps)
      return self.u.assign(tf.cast(u, self.u.dtype))

    def call(self, inputs):
      layer = self.layer
      dtype = getattr(self, "compute_dtype", None) or inputs.dtype
      x = tf.cast(inputs, dtype)
      w = tf.cast(self.normalized_kernel(), dtype)
      if isinstance(layer, keras.layers.Dense):
        y = tf.matmul(x, w)  # batch dims broadcast for inputs of rank > 2
      else:
        config = layer.get_config()
        y = tf.nn.convolution(
            x, w, strides=_pair(config["strides"]), padding=config["padding"].upper(),
            dilations=_pair(config["dilation_rate"]), data_format="NHWC")
      if layer.use_bias:
        y = tf.nn.bias_add(y, tf.cast(tf.convert_to_tensor(layer.bias), dtype))
      return layer.activation(y) if layer.activation is not None else y

    def compute_output_shape(self, input_shape):
      return self.layer.compute_output_shape(input_shape)

    def get_config(self):
      config = super().get_config()
      config.update(power_iterations=self.power_iterations, eps=self.eps)
      return config

  SpectralNorm.__qualname__ = "SpectralNorm"  # a readable repr, not _make_class.<locals>
  try:  # registered so saved models and clone_model find the class by name
    keras.saving.register_keras_serializable("tfgan1")(SpectralNorm)
  except ValueError:  # tf_keras refuses a second registration (a reloaded module)
    pass
  return SpectralNorm


def spectral_norm_wrapper(keras):
  """The `SpectralNorm` wrapper class for `keras` (Keras 3 or tf_keras), cached."""
  key = keras.__name__
  if key not in _CLASSES:
    _CLASSES[key] = _make_class(keras)
  return _CLASSES[key]

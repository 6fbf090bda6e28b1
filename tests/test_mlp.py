"""The mlp architecture's maxout units (PacGAN's D), with Keras 3 and tf_keras."""
import numpy as np
import pytest

from tfgan1 import tfimport

tf = tfimport.tensorflow()
import keras  # noqa: E402
import tf_keras  # noqa: E402

import tfgan1.plugins.architectures  # noqa: E402,F401  registers the plugins
from tfgan1 import ARCHITECTURES, UserError  # noqa: E402
from tfgan1.registry.spec import DataSpec  # noqa: E402

MODULES = pytest.mark.parametrize("km", [keras, tf_keras], ids=["keras3", "tf_keras"])
MLP = ARCHITECTURES.get("mlp")


def _numpy_maxout_d(model, x, pieces):
  """D's logits recomputed from its Dense kernels: max over each unit's pieces."""
  dense = [l for l in model.layers if type(l).__name__ == "Dense"]
  for layer in dense[:-1]:
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    x = (x @ kernel + bias).reshape(len(x), -1, pieces).max(axis=-1)
  kernel, bias = (np.asarray(w) for w in dense[-1].get_weights())
  return x @ kernel + bias


@MODULES
def test_maxout_d_is_the_max_of_its_pieces(km):
  d = MLP.discriminator(km, DataSpec((2,)), hidden=[6, 4], activation="maxout", pieces=3)
  assert [l.get_weights()[0].shape for l in d.layers if type(l).__name__ == "Dense"] == [
      (2, 18), (6, 12), (4, 1)]
  x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
  np.testing.assert_allclose(np.asarray(d(x, training=True)), _numpy_maxout_d(d, x, 3),
                             rtol=1e-5, atol=1e-6)


def _numpy_maxout_g_with_batch_norm(model, z, pieces):
  """G's samples recomputed layer by layer: Dense, BatchNorm on the batch's own
  statistics (training mode), max over each unit's pieces; then the output Dense."""
  x = z
  for layer in model.layers:
    kind, weights = type(layer).__name__, [np.asarray(w) for w in layer.get_weights()]
    if kind == "Dense":
      x = x @ weights[0] + weights[1]
    elif kind == "BatchNormalization":
      gamma, beta = weights[:2]
      x = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + layer.epsilon) + beta
    elif kind == "GlobalMaxPooling1D":  # the maxout, after Reshape((units, pieces))
      x = x.reshape(len(x), -1, pieces).max(axis=-1)
  return x


@MODULES
def test_maxout_g_with_batch_norm_is_the_max_of_its_normalised_pieces(km):
  g = MLP.generator(km, DataSpec((2,)), 3, hidden=[8, 6], activation="maxout", pieces=2,
                    norm="batch_norm")
  z = np.random.default_rng(1).standard_normal((16, 3)).astype(np.float32)
  out = np.asarray(g(z, training=True))
  assert out.shape == (16, 2)
  np.testing.assert_allclose(out, _numpy_maxout_g_with_batch_norm(g, z, 2),
                             rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"activation": "swish"}, "discriminator.activation: 'swish' is not allowed; "
     "choose one of: elu, gelu, leaky_relu, maxout, relu, tanh"),
    ({"activation": "maxout", "pieces": 1}, "discriminator.pieces: 1 is not allowed; "
     "expected an integer >= 2"),
    ({"pieces": True}, "discriminator.pieces: True is not allowed"),
])
def test_bad_activation_or_pieces_is_a_one_line_user_error(kwargs, message):
  with pytest.raises(UserError) as info:
    MLP.discriminator(keras, DataSpec((2,)), **kwargs)
  assert str(info.value).startswith(message) and "\n" not in str(info.value)


@MODULES
def test_maxout_g_clones_for_its_ema(km):
  """The EMA is a clone built from G's config: a maxout G must survive it (a
  Python lambda inside G made Keras refuse the clone) and compute the same."""
  g = MLP.generator(km, DataSpec((2,)), 3, hidden=[8, 6], activation="maxout", pieces=2,
                    norm="batch_norm")
  clone = km.models.clone_model(g)
  clone.set_weights(g.get_weights())
  z = np.random.default_rng(2).standard_normal((16, 3)).astype(np.float32)
  np.testing.assert_allclose(np.asarray(clone(z, training=False)),
                             np.asarray(g(z, training=False)), rtol=0, atol=0)


def test_a_run_with_a_maxout_g_and_an_ema_trains_and_evaluates(plugins_loaded, tmp_path):
  from tfgan1 import config as config_lib  # pylint: disable=import-outside-toplevel
  from tfgan1.runner import train
  config = config_lib.from_dict({
      "generator": {"name": "mlp", "hidden": [8, 8], "activation": "maxout", "pieces": 2,
                    "norm": "batch_norm"},
      "discriminator": {"name": "mlp", "hidden": [8]}, "loss": "hinge", "data": "ring8",
      "noise": {"dim": 2}, "ema": {"decay": 0.9, "bn_batches": 2},
      "train": {"batch_size": 16, "steps": 4, "log_every": 2, "sample_every": 4,
                "checkpoint_every": 4}, "eval": {"num_samples": 100}})
  record = train.train_and_evaluate(config, str(tmp_path))
  assert record["step"] == 4 and 0.0 <= record["high_quality"] <= 1.0
  assert (tmp_path / "samples" / "samples_00000004.png").stat().st_size > 0
  assert (tmp_path / "checkpoints" / "ckpt-4.index").is_file()

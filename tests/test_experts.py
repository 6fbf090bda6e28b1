"""The mlp generator's output experts (`generator.experts`): noise entry 0 picks
one of K linear heads on a shared trunk, with Keras 3 and tf_keras."""
import statistics

import numpy as np
import pytest

from tfgan1 import tfimport

tf = tfimport.tensorflow()
import keras  # noqa: E402
import tf_keras  # noqa: E402

import tfgan1.plugins.architectures  # noqa: E402,F401  registers the plugins
from tfgan1 import ARCHITECTURES, UserError  # noqa: E402
from tfgan1.plugins.architectures import experts  # noqa: E402
from tfgan1.registry.spec import DataSpec  # noqa: E402

MODULES = pytest.mark.parametrize("km", [keras, tf_keras], ids=["keras3", "tf_keras"])
MLP = ARCHITECTURES.get("mlp")


@pytest.mark.parametrize("noise, cdf", [
    ("normal", statistics.NormalDist().cdf), ("uniform", lambda x: (x + 1.0) / 2.0)])
def test_cuts_split_entry_0_into_equally_likely_parts(noise, cdf):
  cuts = experts.boundaries(5, noise)
  np.testing.assert_allclose([cdf(c) for c in cuts], [0.2, 0.4, 0.6, 0.8], atol=1e-9)


def _numpy_g(model, z, num_experts):
  """Trunk (Dense + ReLU) on z[:, 1:], then the head that entry 0 picks."""
  dense = [l for l in model.layers if type(l).__name__ == "Dense"]
  x = z[:, 1:]
  for layer in dense[:-1]:
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    x = np.maximum(x @ kernel + bias, 0.0)
  kernel, bias = (np.asarray(w) for w in dense[-1].get_weights())
  pick = np.searchsorted(experts.boundaries(num_experts, "normal"), z[:, 0], side="right")
  out = (x @ kernel + bias).reshape(len(z), num_experts, -1)
  return out[np.arange(len(z)), pick], pick


@MODULES
def test_g_output_is_the_head_that_noise_entry_0_picks(km):
  g = MLP.generator(km, DataSpec((2,)), 3, hidden=[8, 6], experts=4)
  assert [l.get_weights()[0].shape for l in g.layers if type(l).__name__ == "Dense"] == [
      (2, 8), (8, 6), (6, 8)]
  z = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
  want, pick = _numpy_g(g, z, 4)
  assert set(pick) == {0, 1, 2, 3}
  np.testing.assert_allclose(np.asarray(g(z, training=True)), want, rtol=1e-5, atol=1e-6)
  clone = km.models.clone_model(g)  # what the EMA does
  clone.set_weights(g.get_weights())
  np.testing.assert_allclose(np.asarray(clone(z)), np.asarray(g(z)), rtol=0, atol=0)


def test_each_expert_gets_its_share_of_the_noise():
  g = MLP.generator(keras, DataSpec((2,)), 2, hidden=[4], experts=5,
                    noise_distribution="uniform")
  choice = [l for l in g.layers if type(l).__name__ == "ExpertChoice"][0]
  z = tf.random.stateless_uniform([100_000, 2], seed=[1, 2], minval=-1.0, maxval=1.0)
  onehot, rest = choice(z)
  np.testing.assert_allclose(np.asarray(onehot).mean(0), [0.2] * 5, atol=0.006)
  np.testing.assert_array_equal(np.asarray(rest), np.asarray(z)[:, 1:])


def test_one_expert_is_the_plain_mlp():
  keras.utils.set_random_seed(0)
  plain = MLP.generator(keras, DataSpec((2,)), 3, hidden=[8])
  keras.utils.set_random_seed(0)
  one = MLP.generator(keras, DataSpec((2,)), 3, hidden=[8], experts=1)
  assert [type(l).__name__ for l in one.layers] == [type(l).__name__ for l in plain.layers]
  for a, b in zip(one.get_weights(), plain.get_weights(), strict=True):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, latent, message", [
    ({"experts": 0}, 3, "generator.experts: 0 is not allowed; expected an integer >= 1"),
    ({"experts": True}, 3, "generator.experts: True is not allowed"),
    ({"experts": 4, "noise_distribution": "gauss"}, 3,
     "noise.distribution: 'gauss' is not allowed with generator.experts; choose one of: "
     "normal, uniform"),
    ({"experts": 4}, 1, "generator.experts: 4 needs noise.dim >= 2"),
])
def test_bad_experts_are_a_one_line_user_error(kwargs, latent, message):
  with pytest.raises(UserError) as info:
    MLP.generator(keras, DataSpec((2,)), latent, **kwargs)
  assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_the_run_sets_the_experts_noise_from_noise_distribution(plugins_loaded):
  """Uniform noise on [-1, 1): the cuts are its quantiles, not the normal's; and a
  generator section may not set it itself."""
  from tfgan1.engine import assembly as build  # pylint: disable=import-outside-toplevel
  from tfgan1 import config as config_lib
  raw = {"generator": {"name": "mlp", "hidden": [4], "experts": 4}, "data": "ring8",
         "discriminator": {"name": "mlp", "hidden": [4]}, "loss": "hinge",
         "noise": {"dim": 2, "distribution": "uniform"}}
  g, _ = build.models(config_lib.from_dict(raw), DataSpec((2,)))
  choice = [l for l in g.layers if type(l).__name__ == "ExpertChoice"][0]
  np.testing.assert_allclose(choice.cuts, [-0.5, 0.0, 0.5], atol=1e-7)
  raw["generator"]["noise_distribution"] = "normal"
  with pytest.raises(UserError) as info:
    build.models(config_lib.from_dict(raw), DataSpec((2,)))
  assert str(info.value) == ("generator.noise_distribution: 'normal' is not allowed; it is "
                             "set from noise.distribution ('uniform')")

"""ReACGAN's D2D-CE loss family (`d2dce`): golden values, --verify, a few steps."""
import json

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import ROOT, SHARED_MNIST
from tfgan1 import config as config_lib
from tfgan1.engine import assembly as build
from tfgan1.errors import UserError

NEEDS_MNIST = pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="needs ../shared/data/mnist")

EMBED = np.array([[1.76, 0.4, 0.98, 2.24], [1.87, -0.98, 0.95, -0.15],
                  [-0.1, 0.41, 0.14, 1.45], [0.76, 0.12, 0.44, 0.33],
                  [1.49, -0.21, 0.31, -0.85], [-2.55, 0.65, 0.86, -0.74]], np.float32)
PROXY = np.array([[2.27, -1.45, 0.05, -0.19], [1.53, 1.47, 0.15, 0.38],
                  [-0.89, -1.98, -0.35, 0.16], [1.23, 1.2, -0.39, -0.3],
                  [-1.05, -1.42, -1.71, 1.95], [-0.51, -0.44, -1.25, 0.78]], np.float32)
LABELS = np.array([0, 1, 0, 2, 1, 0], np.int32)
# (temperature, margin) -> D2D-CE. From StudioGAN's reference code,
# POSTECH-CVLab/PyTorch-StudioGAN src/utils/losses.py, class
# Data2DataCrossEntropyLoss (read in the fork 3288103265/PyTorch-StudioGAN at
# commit bce1adeebcc4dc55113c1cb615af843f4a73a117, the same class as upstream's
# 2021 ReACGAN release), run on the tensors above with num_classes=3. PyTorch is
# not installed here, so its forward was transcribed op for op into float64
# numpy (CosineSimilarity(dim=-1): x.y / max(|x||y|, 1e-8); remove_diag: the
# boolean-mask gather; make_index_matrix: ones with 0 where the labels agree).
GOLDEN = {(0.5, 0.98): 2.590035499413552, (1.0, 0.5): 1.8223639095299602,
          (0.1, 0.9): 8.058351827688913}


def _loss(**kwargs):
  return build.registry.LOSSES.get("d2dce")(**kwargs)


@pytest.mark.parametrize("temperature,margin", sorted(GOLDEN))
def test_d2dce_matches_studiogan(plugins_loaded, temperature, margin):
  from tfgan1.plugins.losses import contrastive
  value = contrastive.data_to_data_cross_entropy(EMBED, PROXY, LABELS, temperature, margin)
  assert float(value) == pytest.approx(GOLDEN[(temperature, margin)], rel=1e-6)


def test_d2dce_family_adds_it_to_the_adversarial_loss(plugins_loaded):
  """L_D = hinge + w D2D-CE(real), L_G = hinge + w D2D-CE(fake) (StudioGAN's worker)."""
  logits = np.array([0.5, -2.0, 1.0, 0.0, 3.0, -0.5], np.float32)
  outputs = tf.constant(np.concatenate([logits[:, None], EMBED, PROXY], axis=1))
  fake = tf.constant(np.concatenate([-logits[:, None], EMBED, PROXY], axis=1))
  loss = _loss(class_weight=0.5)
  hinge_d = np.mean(np.maximum(0, 1 - logits)) + np.mean(np.maximum(0, 1 - logits))
  want_d = hinge_d + 0.5 * GOLDEN[(0.5, 0.98)]
  got_d = loss.discriminator_loss(outputs, fake, real_labels=LABELS, fake_labels=LABELS[::-1])
  assert float(got_d) == pytest.approx(want_d, rel=1e-6)
  got_g = loss.generator_loss(fake, None, fake_labels=LABELS)
  assert float(got_g) == pytest.approx(np.mean(logits) + 0.5 * GOLDEN[(0.5, 0.98)], rel=1e-6)
  with pytest.raises(ValueError, match=r"shape \[batch, 1 \+ 2E\]"):
    loss.generator_loss(tf.zeros([6, 2]), None, fake_labels=LABELS)
  with pytest.raises(ValueError, match="needs the batch's labels"):
    loss.generator_loss(outputs, None)
  with pytest.raises(ValueError, match="other than acgan and d2dce"):
    _loss(adversarial="d2dce")


def _overrides(*extra):
  """configs/mnist_biggan.yaml with ReACGAN's D head and loss, shrunk."""
  return ["loss.name=d2dce", "discriminator.head=d2dce", "train.one_step_form=fused",
          "generator.channels=4", "discriminator.channels=4", "generator.shared_dim=8",
          "generator.attention=0", "discriminator.attention=0", "noise.dim=16",
          "train.batch_size=8", "train.jit_compile=false",
          f"data.path={SHARED_MNIST}", *extra]


def _dcgan_config():
  """The conditional DCGAN with the D2D-CE head, tiny."""
  return config_lib.from_dict({
      "data": {"name": "mnist", "path": str(SHARED_MNIST), "split": "test", "labels": True},
      "generator": {"name": "dcgan", "base_channels": 4, "conditional": True},
      "discriminator": {"name": "dcgan", "base_channels": 4, "conditional": True,
                        "head": "d2dce"},
      "loss": {"name": "d2dce"}, "noise": {"dim": 8},
      "train": {"batch_size": 8, "jit_compile": False}})


def _stylegan2_config():
  """configs/mnist_stylegan2.yaml, conditional, with the D2D-CE head, tiny."""
  return config_lib.load(str(ROOT / "configs" / "mnist_stylegan2.yaml"), [
      "data.labels=true", "generator.conditional=true", "discriminator.conditional=true",
      "discriminator.head=d2dce", "loss.name=d2dce", "generator.channel_max=8",
      "discriminator.channel_max=8", "train.batch_size=8", "train.jit_compile=false",
      f"data.path={SHARED_MNIST}"])


@NEEDS_MNIST
def test_d2dce_verifies_with_biggan_dcgan_and_stylegan2(plugins_loaded, capsys):
  """`--verify` (verify.main, the CLI's function) passes: the batch-level term
  cancels in D's gradient like any loss family's."""
  from tfgan1.engine import verify
  path = str(ROOT / "configs" / "mnist_biggan.yaml")
  for cfg in (config_lib.load(path, _overrides()), _dcgan_config(), _stylegan2_config()):
    assert verify.main(cfg) == 0
    out = capsys.readouterr().out
    result = json.loads(out[out.index("{"):])
    assert result["ok"] is True and result["worst_relative"] <= result["tolerance"]
    assert "one_step_fused_vs_simultaneous/discriminator" in json.dumps(result)


@NEEDS_MNIST
def test_d2dce_trains_a_few_steps_with_the_conditional_dcgan(plugins_loaded):
  from tfgan1.backends.tf2 import Run
  run = Run(_dcgan_config())
  d_start = [v.numpy() for v in run.trainer.gan.discriminator.trainable_variables]
  for _ in range(3):
    metrics = {k: float(v) for k, v in run.trainer.train_step(run.iterator, run.rng).items()}
  assert np.isfinite(metrics["loss_d"]) and np.isfinite(metrics["loss_g"])
  assert metrics["loss_d"] > 0.0  # hinge's and D2D-CE's terms are all positive
  moved = [float(np.abs(v.numpy() - s).max())
           for v, s in zip(run.trainer.gan.discriminator.trainable_variables, d_start)]
  assert max(moved) > 0.0


@NEEDS_MNIST
def test_d2dce_without_its_head_is_one_line(plugins_loaded):
  path = str(ROOT / "configs" / "mnist_biggan.yaml")
  cfg = config_lib.load(path, [o for o in _overrides() if o != "discriminator.head=d2dce"])
  with pytest.raises(UserError, match=r"^loss: 'd2dce' cannot read the outputs of "
                     r"discriminator 'biggan': .*shape \[batch, 1 \+ 2E\].*head: d2dce"):
    build.everything(cfg)


def test_d2dce_refuses_top_k(plugins_loaded):
  with pytest.raises(UserError, match=r"^train.g_top_k: 0.5 is not allowed with loss "
                     r"'d2dce', which reads several D outputs per sample; must be 1.0$"):
    build.g_top_k(0.5, _loss(), "d2dce")

"""`--verify` passes on every shipped config whose data is on this machine.

The configs are found by glob, so a new config is checked without editing this
file. Networks are shrunk with `--set` for speed: the check is about the loss,
penalties and layer types, which the smaller sizes keep.
"""
import json

import pytest

from tests.conftest import ROOT, VERIFIED, verified
from tfgan1.engine import assembly as build
from tfgan1 import config as config_lib
from tfgan1.errors import UserError
from tfgan1.registry import ARCHITECTURES, contracts

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
# Per-architecture size keys (those each builder takes) and a small value.
SMALL_SIZES = {"mlp": [("hidden", "[16, 16]")], "dcgan": [("base_channels", "8")],
               "resnet": [("channels", "16")], "biggan": [("channels", "4")],
               "stylegan2": [("channel_base", "128"), ("channel_max", "16")]}


def _small_overrides(config):
  overrides = ["train.batch_size=8"]
  for net in ("generator", "discriminator"):
    for key, value in SMALL_SIZES.get(getattr(config, net).name, ()):
      overrides.append(f"{net}.{key}={value}")
  return overrides


def _expected(config):
  """VERIFIED, less the shared form where D's architecture declares its logits
  batch-coupled (StyleGAN2's minibatch std): --verify leaves that form out."""
  arch = ARCHITECTURES.get(config.discriminator.name)
  if contracts.hook(arch, "architecture", "batch_coupled")(dict(config.discriminator.kwargs)):
    return VERIFIED - {"one_step_shared"}
  return VERIFIED


def test_configs_found():
  names = {p.name for p in CONFIGS}
  assert {"ring8.yaml", "grid25.yaml", "grid25_wgan_gp.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_verify_passes(plugins_loaded, path, capsys):
  config = config_lib.load(str(path))
  try:
    build.dataset(config)  # the dataset plugin checks its paths at construction
  except UserError as e:
    pytest.skip(f"dataset cannot be built here (missing data or a blocked config): {e}")
  # In-process, through the function the CLI calls (test_cli_run covers the CLI).
  from tfgan1.engine import verify
  code = verify.main(config_lib.load(str(path), _small_overrides(config)))
  out = capsys.readouterr().out
  assert code == 0, out[-3000:]
  result = json.loads(out[out.index("{"):])
  assert result["ok"] is True
  assert result["worst_relative"] <= result["tolerance"]
  assert _expected(config) <= verified(result["pairs"])

"""`--verify` passes on every shipped config whose data is on this machine.

The configs are found by glob, so a new config is checked without editing this
file. Networks are shrunk with `--set` for speed: the check is about the loss,
penalties and layer types, which the smaller sizes keep.
"""
import json

import pytest

from tests.conftest import ROOT, run_cli
from tfgan1 import build
from tfgan1 import config as config_lib
from tfgan1.errors import UserError

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
# Per-architecture size keys (those each builder takes) and a small value.
SMALL_SIZES = {"mlp": ("hidden", "[16, 16]"), "dcgan": ("base_channels", "8"),
               "resnet": ("channels", "16")}


def _small_overrides(config):
  overrides = ["train.batch_size=8"]
  for net in ("generator", "discriminator"):
    size = SMALL_SIZES.get(getattr(config, net).name)
    if size:
      overrides.append(f"{net}.{size[0]}={size[1]}")
  return overrides


def test_configs_found():
  names = {p.name for p in CONFIGS}
  assert {"ring8.yaml", "grid25.yaml", "grid25_wgan_gp.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_verify_passes(plugins_loaded, path):
  config = config_lib.load(str(path))
  try:
    build.dataset(config)  # the dataset plugin checks its paths at construction
  except UserError as e:
    pytest.skip(f"dataset cannot be built here (missing data or a blocked config): {e}")
  sets = [a for o in _small_overrides(config) for a in ("--set", o)]
  out = run_cli("--config", path, "--verify", *sets)
  assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
  result = json.loads(out.stdout[out.stdout.index("{"):])
  assert result["ok"] is True
  assert result["worst_relative"] <= result["tolerance"]
  assert len(result["pairs"]) == 6  # 3 comparisons x (D, G)

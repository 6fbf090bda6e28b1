"""A workdir written before the package was rebuilt resumes after it, exactly.

`tests/fixtures/pre_rebuild/` holds two tiny ring8 workdirs (one_step with one
shared optimizer; alternating n_d=2 with TTUR and an EMA) saved at step 4 by
commit 4c6553c, the last one before the rebuild. `expected.json` holds what
that commit logged at step 6 when it trained the same config 6 steps without
a stop. Resuming each fixture to step 6 must log the same scalars.
"""
import json
import shutil

import pytest

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "pre_rebuild"


def _scalars_at(workdir, step, tags):
  from tensorboard.backend.event_processing import event_accumulator as ea
  import tensorflow as tf
  acc = ea.EventAccumulator(str(workdir), size_guidance={ea.TENSORS: 0})
  acc.Reload()
  return {tag: float(tf.make_ndarray(e.tensor_proto))
          for tag in tags for e in acc.Tensors(tag) if e.step == step}


@pytest.mark.parametrize("name", ["ring8_one_step", "ring8_alternating"])
def test_old_workdir_resumes_to_the_same_numbers(name, tmp_path, cli_here):
  workdir = tmp_path / name
  shutil.copytree(FIXTURES / name, workdir)
  result = cli_here("--config", workdir / "config.yaml", "--set", "train.steps=6",
               "--workdir", workdir)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "resuming from" in result.stderr and "at step 4" in result.stderr
  expected = json.loads((FIXTURES / "expected.json").read_text())["scalars"][name]
  got = _scalars_at(workdir, 6, expected)
  for tag, value in expected.items():
    assert got[tag] == pytest.approx(value, rel=1e-5, abs=1e-6), tag
  assert (workdir / "checkpoints" / "ckpt-6.index").is_file()

"""tools/gpu_check.sh (which runs tools/gpu_check.py) on CPU: one cheap variant,
so the script, its timing harness (tools/benchlib/timing.py, shared with
bench.py) and its JSON are checked; with a GPU the same command times it there
(the whole CPU run, random CIFAR-sized data included, is a tool run by hand:
docs/BENCHMARKS.md)."""
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SHARED_MNIST


@pytest.mark.skipif(not SHARED_MNIST.is_dir(),
                    reason="shared MNIST not found next to the repo (mnist_dcgan's data)")
def test_gpu_check_runs_on_cpu_and_writes_json(tmp_path):
  out = tmp_path / "gpu.json"
  env = dict(os.environ, PYTHON=sys.executable, CUDA_VISIBLE_DEVICES="")
  proc = subprocess.run(
      ["bash", str(ROOT / "tools" / "gpu_check.sh"), "--out", str(out),
       "--configs", "mnist_dcgan", "--rules", "alternating", "--precisions",
       "float32", "--jit", "false"],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "device: CPU (no GPU visible)" in proc.stdout
  assert "checks this script, not the speed" in proc.stdout
  assert "mnist_dcgan: data: the config's own data" in proc.stdout
  result = json.loads(out.read_text())
  assert result["cpu_check_only"] is True and result["steps"] == 2
  (row,) = result["results"]
  assert (row["config"], row["rule"], row["precision"], row["jit_compile"]) == (
      "mnist_dcgan", "alternating", "float32", False)
  assert row["batch_size"] == 8 and row["steps_per_s_median"] > 0
  assert row["peak_memory_bytes"] is None  # no GPU memory to read on CPU

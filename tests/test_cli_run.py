"""Short real runs through the CLI: files, TensorBoard events, resume, tools."""
import json
import math
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

from tfgan1 import config as config_lib
from tests.conftest import ROOT, run_cli

SMALL = ["--set", "generator.hidden=[32, 32]", "--set", "discriminator.hidden=[32, 32]",
         "--set", "train.batch_size=64", "--set", "train.log_every=20",
         "--set", "train.sample_every=30", "--set", "train.checkpoint_every=30",
         "--set", "eval.num_samples=500"]
CONFIG = str(ROOT / "configs" / "ring8.yaml")
TRAIN_TAGS = {"train/loss_d", "train/loss_g", "train/d_real", "train/d_fake",
              "train/grad_norm_d", "train/grad_norm_g"}


def _train(workdir, steps, *extra):
  out = run_cli("--config", CONFIG, "--workdir", workdir, *SMALL,
                "--set", f"train.steps={steps}", *extra)
  assert out.returncode == 0, out.stderr[-3000:]
  return out


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("runs") / "ring8"
  out = _train(workdir, 60, "--set", "eval.every=30",
               "--set", "eval.best={metric: high_quality, mode: max}")
  return workdir, out


def _read_events(workdir):
  """({scalar tag: [(step, value)]}, {image tag}) via tensorboard's own reader."""
  acc = event_accumulator.EventAccumulator(
      str(workdir), size_guidance={event_accumulator.TENSORS: 0})
  acc.Reload()
  scalars, images = {}, set()
  for tag in acc.Tags()["tensors"]:
    plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
    if plugin == "images":
      images.add(tag)
    elif plugin == "scalars":
      scalars[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
                      for e in acc.Tensors(tag)]
  return scalars, images


def test_workdir_files(short_run):
  workdir, _ = short_run
  saved = config_lib.load(str(workdir / "config.yaml"))
  assert saved.train.steps == 60 and saved.generator.kwargs["hidden"] == [32, 32]
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records] == [30, 60]  # eval.every, then the final one
  final = records[-1]
  assert 0 <= final["modes"] <= 8 and 0.0 <= final["high_quality"] <= 1.0
  assert 0.0 <= final["reverse_kl"] <= math.log(8) + 1e-9
  ckpts = sorted(os.listdir(workdir / "checkpoints"))
  assert "ckpt-60.index" in ckpts and "ckpt-30.index" in ckpts
  # eval.best: the checkpoint of the better high_quality of the two evaluations.
  best = json.loads((workdir / "checkpoints" / "best" / "best.json").read_text())
  winner = max(records, key=lambda r: r["high_quality"])  # the first on a tie
  assert best == {"step": winner["step"], "metric": "high_quality",
                  "value": winner["high_quality"]}
  assert (workdir / "checkpoints" / "best" / f"ckpt-{winner['step']}.index").is_file()
  pngs = sorted(os.listdir(workdir / "samples"))
  assert pngs == ["samples_00000030.png", "samples_00000060.png"]
  import tensorflow as tf
  picture = tf.io.decode_png(tf.io.read_file(str(workdir / "samples" / pngs[-1])))
  assert picture.shape == (256, 256, 3)


def test_progress_line(short_run):
  _, out = short_run
  assert re.search(r"step 20/60 \| [\d.]+ steps/s \| ETA \d+:\d\d:\d\d \| loss_d=\S+ loss_g=",
                   out.stderr), out.stderr[-2000:]


def test_event_files_read_back(short_run):
  workdir, _ = short_run
  scalars, images = _read_events(workdir)
  assert TRAIN_TAGS <= set(scalars)
  assert {"eval/modes", "eval/high_quality", "eval/reverse_kl"} <= set(scalars)
  for tag in TRAIN_TAGS:
    assert [s for s, _ in scalars[tag]] == [20, 40, 60]
    assert all(math.isfinite(v) for _, v in scalars[tag])
  assert "samples" in images


def test_sample_tool(short_run, tmp_path):
  workdir, _ = short_run
  out_file = tmp_path / "s.npy"
  proc = subprocess.run([sys.executable, str(ROOT / "tools" / "sample.py"), "--workdir",
                         str(workdir), "--num", "123", "--out", str(out_file)],
                        capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  samples = np.load(out_file)
  assert samples.shape == (123, 2) and samples.dtype == np.float32
  assert np.isfinite(samples).all() and np.abs(samples).max() < 100
  # The tool must use the trained weights, not the (seeded) initial ones.
  trained = _final_weights(workdir)
  from tfgan1 import build, restore
  config = restore.load_config(str(workdir))
  build.keras.utils.set_random_seed(config.seed)
  fresh, _ = build.models(config, build.dataset(config).spec)
  initial = restore.sample(config, fresh, 123, 0)
  assert np.abs(initial - samples).max() > 1e-3
  assert any(np.abs(v.numpy() - trained[f"generator/{i}"]).max() > 1e-4
             for i, v in enumerate(fresh.variables))


def test_eval_tool(short_run):
  """tools/eval.py on the best checkpoint reproduces that evaluation's record."""
  workdir, _ = short_run
  best = json.loads((workdir / "checkpoints" / "best" / "best.json").read_text())
  record = next(json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()
                if json.loads(l)["step"] == best["step"])
  proc = subprocess.run([sys.executable, str(ROOT / "tools" / "eval.py"), "--workdir",
                         str(workdir), "--checkpoint", "best",
                         "--set", "eval.metrics=[modes]"],
                        capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  lines = proc.stdout.strip().splitlines()
  assert len(lines) == 1, proc.stdout
  out = json.loads(lines[0])
  assert out["step"] == best["step"] and out["checkpoint"].endswith(f"ckpt-{best['step']}")
  # Same weights, same evaluation noise seed: the same numbers as during training.
  for key in ("modes", "high_quality", "reverse_kl"):
    assert out[key] == pytest.approx(record[key], abs=1e-6), key


def test_plot_eval_tool(short_run, tmp_path):
  pytest.importorskip("matplotlib")
  workdir, _ = short_run
  out_file = tmp_path / "curve.png"
  proc = subprocess.run([sys.executable, str(ROOT / "tools" / "plot_eval.py"), "--workdir",
                         str(workdir), "--metrics", "modes,high_quality", "--out",
                         str(out_file)], capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  import tensorflow as tf
  picture = tf.io.decode_png(tf.io.read_file(str(out_file)))
  assert picture.shape[0] > 100 and picture.shape[1] > 300
  bad = subprocess.run([sys.executable, str(ROOT / "tools" / "plot_eval.py"), "--workdir",
                        str(workdir), "--metrics", "fid", "--out", str(out_file)],
                       capture_output=True, text=True, check=False)
  assert bad.returncode == 2
  assert bad.stderr.strip().splitlines()[-1].startswith(
      "error: --metrics: fid not logged in"), bad.stderr[-2000:]


def test_resume_continues_at_saved_step(short_run, tmp_path):
  workdir, _ = short_run
  copy = tmp_path / "copy"
  subprocess.run(["cp", "-r", str(workdir), str(copy)], check=True)
  out = _train(copy, 80)
  assert re.search(r"resuming from \S+ckpt-60 at step 60", out.stderr)
  assert "step 20/80" not in out.stderr and "step 80/80" in out.stderr
  records = [json.loads(line)["step"] for line in (copy / "metrics.jsonl").read_text().splitlines()]
  assert records == [30, 60, 80]


def _final_weights(workdir):
  """Both networks' weights from the latest checkpoint, restored into fresh models."""
  from tfgan1 import build, checkpoints, plugin_loader, restore
  plugin_loader.load_all()
  config = restore.load_config(str(workdir))
  generator, discriminator = build.models(config, build.dataset(config).spec)
  checkpoint = build.tf.train.Checkpoint(generator=generator, discriminator=discriminator)
  checkpoints.restore(checkpoint, checkpoints.latest(str(workdir)), partial=True)
  return {f"{m.name}/{i}": v.numpy() for m in (generator, discriminator)
          for i, v in enumerate(m.variables)}


def test_stopped_run_resumes_exactly(tmp_path):
  """SIGTERM mid-run saves a checkpoint; resuming gives the uninterrupted weights."""
  stopped = tmp_path / "stopped"
  log = open(tmp_path / "log.txt", "w+")
  cmd = [sys.executable, "-m", "tfgan1.run", "--config", CONFIG, "--workdir", str(stopped),
         *SMALL, "--set", "train.steps=100000", "--set", "train.checkpoint_every=100000"]
  proc = subprocess.Popen(cmd, cwd=ROOT, stderr=log, stdout=log)
  deadline = time.time() + 120
  while "step 20/100000" not in open(tmp_path / "log.txt").read() and time.time() < deadline:
    time.sleep(0.2)
  proc.send_signal(signal.SIGTERM)
  assert proc.wait(timeout=60) == 130
  saved = int(open(stopped / "checkpoints" / "checkpoint").read().split('"')[1].split("-")[-1])
  assert saved >= 20
  target = saved + 30
  mid = _final_weights(stopped)
  out = _train(stopped, target)
  assert f"at step {saved}" in out.stderr
  straight = tmp_path / "straight"
  _train(straight, target)
  a, b = _final_weights(straight), _final_weights(stopped)
  assert a.keys() == b.keys() and len(a) >= 4
  # Same data, noise and optimizer state; CPU thread scheduling reorders a few
  # float reductions, so runs (resumed or not) agree to ~1e-5, not bit for bit.
  # A resume with other data or noise would differ by about as much as the
  # weights moved in those 30 steps.
  moved = max(np.abs(b[k] - mid[k]).max() for k in b)
  differ = max(np.abs(a[k] - b[k]).max() for k in a)
  assert differ < 5e-4 and differ * 50 < moved, (saved, differ, moved)


def test_damaged_checkpoint_is_one_line_and_nothing_lost(short_run, tmp_path):
  workdir, _ = short_run
  copy = tmp_path / "damaged"
  subprocess.run(["cp", "-r", str(workdir), str(copy)], check=True)
  data = copy / "checkpoints" / "ckpt-60.data-00000-of-00001"
  data.write_bytes(data.read_bytes()[:100])
  before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
  out = run_cli("--config", CONFIG, "--workdir", copy, *SMALL, "--set", "train.steps=80")
  lines = [l for l in out.stderr.splitlines() if l.strip()]
  assert out.returncode == 2 and len(lines) == 1, out.stderr[-2000:]
  assert lines[0].startswith("error: checkpoint: ") and "ckpt-60" in lines[0]
  assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_checkpoint_of_other_architecture(short_run, tmp_path):
  workdir, _ = short_run
  copy = tmp_path / "other"
  subprocess.run(["cp", "-r", str(workdir), str(copy)], check=True)
  out = run_cli("--config", CONFIG, "--workdir", copy, *SMALL,
                "--set", "generator.hidden=[16]", "--set", "train.steps=80")
  assert out.returncode == 2
  assert "cannot be restored into this config" in out.stderr.strip().splitlines()[-1]


def test_verify_cli(tmp_path):
  ok = run_cli("--config", CONFIG, "--verify", *SMALL)
  assert ok.returncode == 0, ok.stderr[-2000:]
  result = json.loads(ok.stdout)
  assert result["ok"] and result["worst_relative"] <= 1e-5
  assert len(result["pairs"]) == 6
  bad = run_cli("--config", CONFIG, "--verify", *SMALL, "--set", "discriminator.dropout=0.5")
  assert bad.returncode == 1
  result = json.loads(bad.stdout)
  assert not result["ok"] and "dropout" in result["likely_cause"]


def _free_port():
  import socket
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_tensorboard_server_shows_the_run(short_run):
  """The real TensorBoard server, on localhost, serves the run's scalars."""
  import urllib.parse
  import urllib.request
  workdir, _ = short_run
  port = _free_port()
  server = subprocess.Popen(
      [sys.executable, "-m", "tensorboard.main", "--logdir", str(workdir.parent),
       "--host", "127.0.0.1", "--port", str(port)],
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  base = f"http://127.0.0.1:{port}"
  try:
    deadline, tags = time.time() + 90, {}
    while time.time() < deadline:
      try:
        with urllib.request.urlopen(f"{base}/data/plugin/scalars/tags", timeout=5) as r:
          tags = json.load(r)
        if "train/loss_d" in tags.get(workdir.name, {}):
          break
      except OSError:
        pass
      time.sleep(0.5)
    assert TRAIN_TAGS <= set(tags[workdir.name]), tags
    query = urllib.parse.urlencode({"run": workdir.name, "tag": "train/loss_d"})
    with urllib.request.urlopen(f"{base}/data/plugin/scalars/scalars?{query}", timeout=10) as r:
      points = json.load(r)
    assert [p[1] for p in points] == [20, 40, 60]
    assert all(math.isfinite(p[2]) for p in points)
  finally:
    server.terminate()
    server.wait(timeout=30)

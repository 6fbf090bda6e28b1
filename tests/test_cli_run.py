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

from tfgan1.evaluation import sampling
from tfgan1 import config as config_lib
from tests.conftest import ROOT, VERIFIED, run_cli, verified

SMALL = ["--set", "generator.hidden=[32, 32]", "--set", "discriminator.hidden=[32, 32]",
         "--set", "train.batch_size=64", "--set", "train.log_every=20",
         "--set", "train.sample_every=30", "--set", "train.checkpoint_every=30",
         "--set", "eval.num_samples=500"]
CONFIG = str(ROOT / "configs" / "ring8.yaml")
TRAIN_TAGS = {"loss/d", "loss/g", "d_out/real", "d_out/fake", "grad_norm/d", "grad_norm/g",
              "perf/steps_per_sec", "perf/ms_per_step"}


def _train(workdir, steps, *extra, call=run_cli):
  """A run to `steps` through the CLI: a real process, or `call` (conftest.cli_here)."""
  out = call("--config", CONFIG, "--workdir", workdir, *SMALL,
             "--set", f"train.steps={steps}", *extra)
  assert out.returncode == 0, out.stderr[-3000:]
  return out


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("runs") / "ring8"
  out = _train(workdir, 60, "--set", "eval.every=30",
               "--set", "eval.best={metric: high_quality, mode: max}",
               "--set", "train.histogram_every=30", "--profile_steps", "40,45")
  return workdir, out


def _read_events(workdir, plugins=None):
  """({scalar tag: [(step, value)]}, {image tag}) via tensorboard's own reader.

  `plugins`, a dict, receives {plugin name: {tag}} for every tag.
  """
  acc = event_accumulator.EventAccumulator(
      str(workdir), size_guidance={event_accumulator.TENSORS: 0})
  acc.Reload()
  scalars, images = {}, set()
  for tag in acc.Tags()["tensors"]:
    plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
    if plugins is not None:
      plugins.setdefault(plugin, set()).add(tag)
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


def test_console_lines_and_train_log(short_run):
  workdir, out = short_run
  lines = out.stderr.splitlines()
  assert lines[0] == f"workdir {workdir}: new run", out.stderr[:2000]
  assert lines[1] == "devices: CPU"
  assert re.fullmatch(r"generator mlp: [\d,]+ parameters \| discriminator mlp: [\d,]+ parameters",
                      lines[2])
  assert lines[3] == "data ring8: an endless stream | batch 64"
  assert lines[4] == "rule one_step (fused) | loss hinge | 60 steps"
  assert re.search(r"^step 20/60 \| [\d.]+ steps/s \| ETA \d+:\d\d:\d\d \| loss_d=\S+ loss_g=",
                   out.stderr, re.M), out.stderr[-2000:]
  assert re.fullmatch(r"done: step 60 in \d+:\d\d:\d\d \| modes=\d high_quality=\S+ "
                      r"reverse_kl=\S+ reverse_kl_pacgan=\S+ \| loss_d=\S+ loss_g=\S+",
                      lines[-1]), lines[-1]
  # No absl prefix and no alarming library line on the console; the full
  # format is in train.log.
  assert not [l for l in lines if re.match(r"[IWEF]\d{4} ", l)], out.stderr[-3000:]
  log = (workdir / "train.log").read_text().splitlines()
  assert re.match(r"I\d{4} [\d:.]+ +\d+ train\.py:\d+\] workdir ", log[0])
  assert log[-1].endswith(lines[-1]) and len(log) == len(lines)


def test_event_files_read_back(short_run):
  workdir, _ = short_run
  scalars, images = _read_events(workdir)
  assert TRAIN_TAGS <= set(scalars)
  assert {"eval/modes", "eval/high_quality", "eval/reverse_kl"} <= set(scalars)
  # A float32 run that stops at its first bad step has no skip count to chart.
  assert "precision/skipped_steps" not in scalars
  for tag in TRAIN_TAGS:
    assert [s for s, _ in scalars[tag]] == [20, 40, 60]
    assert all(math.isfinite(v) for _, v in scalars[tag])
  assert "samples" in images


def _weight_count(workdir):
  """How many variables the run's G and D hold, built from its saved config."""
  from tfgan1.engine import assembly
  from tfgan1.registry import loader as plugin_loader
  plugin_loader.load_all()
  config = config_lib.load(str(workdir / "config.yaml"))
  gan = assembly.networks(config, assembly.dataset(config).spec)
  return len(gan.generator.weights), len(gan.discriminator.weights)


def test_dashboard_extras(short_run):
  """Config text, hparams, custom-scalars layout, histograms, profiler trace."""
  workdir, _ = short_run
  plugins = {}
  _read_events(workdir, plugins)
  assert plugins["text"] == {"config"}
  assert "_hparams_/session_start_info" in plugins["hparams"]
  assert "custom_scalars__config__" in plugins["custom_scalars"]
  # One histogram per variable: each layer's kernel has a chart of its own.
  tags = plugins["histograms"]
  by_role = [sum(t.startswith(f"weights/{r}/") for t in tags) for r in ("generator", "discriminator")]
  assert tuple(by_role) == _weight_count(workdir), sorted(tags)
  assert "weights/generator/dense_1/kernel" in tags, sorted(tags)
  traces = list((workdir / "plugins" / "profile").rglob("*.xplane.pb"))
  assert len(traces) == 1 and traces[0].stat().st_size > 1000


def test_compare_runs_reads_new_and_old_tags(short_run, tmp_path):
  """tools/compare_runs.py on this run and on one written with the old tag names."""
  import tensorflow as tf
  workdir, _ = short_run
  old = tmp_path / "old_run"
  writer = tf.summary.create_file_writer(str(old))
  with writer.as_default():
    for step, value in ((10, 1.5), (20, 1.25), (30, 1.0)):
      tf.summary.scalar("train/loss_d", value, step=step)
    tf.summary.scalar("eval/modes", 7.0, step=30)
  writer.close()
  (old / "config.yaml").write_text((workdir / "config.yaml").read_text().replace(
      "rule: one_step", "rule: alternating"))
  proc = subprocess.run([sys.executable, str(ROOT / "tools" / "compare_runs.py"),
                         str(workdir), str(old), "--csv"],
                        capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  import csv
  rows = {r["run"]: r for r in csv.DictReader(proc.stdout.splitlines())}
  new, before = rows[str(workdir)], rows[str(old)]
  assert new["rule"] == "one_step" and before["rule"] == "alternating"
  assert new["batch_size"] == "64" and new["loss"] == "hinge"
  assert new["step"] == "60" and before["step"] == "30"
  assert float(before["loss_d"]) == 1.0 and float(before["eval/modes"]) == 7.0
  scalars, _ = _read_events(workdir)
  assert float(new["loss_d"]) == pytest.approx(scalars["loss/d"][-1][1])
  assert float(new["steps/s"]) > 0 and float(before["steps/s"]) > 0
  import importlib.util
  import io
  spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "tools" / "compare_runs.py")
  tool = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(tool)
  table = io.StringIO()
  tool._print_table([tool.read_run(str(workdir)), tool.read_run(str(old))], table)  # pylint: disable=protected-access
  lines = table.getvalue().splitlines()
  # An alternating run has no one-step form: it differs, not "same in every run".
  assert lines[0].split()[:4] == ["run", "one_step_form", "rule", "step"], lines
  assert lines[1].split()[:4] == [str(workdir), "fused", "one_step", "60"]
  assert lines[2].split()[:3] == [str(old), "alternating", "30"]
  assert lines[-1].startswith("same in every run: ") and " loss=hinge " in lines[-1]
  assert "one_step_form" not in lines[-1]


def test_sample_tool(short_run, tmp_path):
  workdir, _ = short_run
  out_file = workdir / "samples.npy"  # no --out: beside the run
  proc = subprocess.run([sys.executable, str(ROOT / "tools" / "sample.py"), "--workdir",
                         str(workdir), "--num", "123"],
                        cwd=tmp_path, capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  samples = np.load(out_file)
  assert samples.shape == (123, 2) and samples.dtype == np.float32
  assert np.isfinite(samples).all() and np.abs(samples).max() < 100
  # The tool must use the trained weights, not the (seeded) initial ones.
  trained = _final_weights(workdir)
  from tfgan1.engine import assembly as build
  from tfgan1.runner import reload as restore
  config = restore.load_config(str(workdir))
  build.keras.utils.set_random_seed(config.seed)
  fresh, _ = build.models(config, build.dataset(config).spec)
  initial = sampling.sample(config, fresh, 123, 0)
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


def test_resume_continues_at_saved_step(short_run, tmp_path, cli_here):
  workdir, _ = short_run
  copy = tmp_path / "copy"
  subprocess.run(["cp", "-r", str(workdir), str(copy)], check=True)
  out = _train(copy, 80, call=cli_here)  # resuming through a real process: the next test
  assert re.search(r"^workdir \S+: resuming from \S+ckpt-60 at step 60$", out.stderr, re.M)
  assert "step 20/80" not in out.stderr and "step 80/80" in out.stderr
  records = [json.loads(line)["step"] for line in (copy / "metrics.jsonl").read_text().splitlines()]
  assert records == [30, 60, 80]


def _final_weights(workdir):
  """Both networks' weights from the latest checkpoint, restored into fresh models."""
  from tfgan1.engine import assembly as build
  from tfgan1.runner import checkpoints
  from tfgan1.registry import loader as plugin_loader
  from tfgan1.runner import reload as restore
  plugin_loader.load_all()
  config = restore.load_config(str(workdir))
  generator, discriminator = build.models(config, build.dataset(config).spec)
  checkpoint = build.tf.train.Checkpoint(generator=generator, discriminator=discriminator)
  checkpoints.restore(checkpoint, checkpoints.latest(str(workdir)), partial=True)
  return {f"{m.name}/{i}": v.numpy() for m in (generator, discriminator)
          for i, v in enumerate(m.variables)}


def test_stopped_run_resumes_exactly(tmp_path, cli_here):
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
  console = open(tmp_path / "log.txt").read().splitlines()
  # Plain lines only (no absl `W1207 16:00:00.000 ... run.py:73]` prefix), each also in train.log.
  assert "stopped; run the same command again to resume" in console
  assert not [l for l in console if re.match(r"[IWEF]\d{4} ", l)], console
  logged = (stopped / "train.log").read_text()
  assert "stopped; run the same command again to resume" in logged
  saved = int(open(stopped / "checkpoints" / "checkpoint").read().split('"')[1].split("-")[-1])
  assert saved >= 20
  target = saved + 30
  mid = _final_weights(stopped)
  # The resume in a real process (the SIGTERM'd run's next command) checks the
  # process path; the uninterrupted reference only needs the same training.
  out = _train(stopped, target)
  assert f"at step {saved}" in out.stderr
  straight = tmp_path / "straight"
  _train(straight, target, call=cli_here)
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
  # Every checkpoint damaged: nothing intact to fall back to (test_reliability
  # covers the fallback to an older intact one).
  for data in (copy / "checkpoints").glob("ckpt-*.data-00000-of-00001"):
    data.write_bytes(data.read_bytes()[:100])
  before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
  out = run_cli("--config", CONFIG, "--workdir", copy, *SMALL, "--set", "train.steps=80")
  lines = [l for l in out.stderr.splitlines() if l.strip()]
  assert out.returncode == 2 and len(lines) == 1, out.stderr[-2000:]
  assert lines[0].startswith("error: checkpoint: no intact checkpoint left")
  assert "ckpt-60" in lines[0] and "ckpt-30" in lines[0]
  assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_checkpoint_of_other_architecture(short_run, tmp_path, cli_here):
  """In process (conftest.cli_here); the damaged-checkpoint test above runs this
  error path (a workdir refused after TensorFlow started) as a real process."""
  workdir, _ = short_run
  copy = tmp_path / "other"
  subprocess.run(["cp", "-r", str(workdir), str(copy)], check=True)
  out = cli_here("--config", CONFIG, "--workdir", copy, *SMALL,
                "--set", "generator.hidden=[16]", "--set", "train.steps=80")
  assert out.returncode == 2  # refused at the config comparison
  assert "differing keys: generator.hidden" in out.stderr.strip().splitlines()[-1]
  out = cli_here("--config", CONFIG, "--workdir", copy, *SMALL, "--allow_config_change",
                "--set", "generator.hidden=[16]", "--set", "train.steps=80")
  assert out.returncode == 2
  assert "cannot be restored into this config" in out.stderr.strip().splitlines()[-1]


def test_verify_cli(tmp_path, cli_here):
  ok = run_cli("--config", CONFIG, "--verify", *SMALL)
  assert ok.returncode == 0, ok.stderr[-2000:]
  result = json.loads(ok.stdout)
  assert result["ok"] and result["worst_relative"] <= result["tolerance"] < 1e-3
  assert VERIFIED <= verified(result["pairs"])
  # Dropout in D: the run's form (fused) stays exact, so exit 0; others differ.
  # In process: the real process above checks the exit code and stdout path.
  bad = cli_here("--config", CONFIG, "--verify", *SMALL, "--set", "discriminator.dropout=0.5")
  assert bad.returncode == 0, bad.stderr[-2000:]
  result = json.loads(bad.stdout)
  assert not result["ok"] and "dropout" in result["likely_cause"]
  assert result["run_variant"] == "one_step_fused" and result["run_variant_ok"]


def _free_port():
  import socket
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _get(base, path, body=None):
  import urllib.request
  data = None if body is None else json.dumps(body).encode()
  request = urllib.request.Request(f"{base}{path}", data=data,
                                   headers={"Content-Type": "application/json"})
  with urllib.request.urlopen(request, timeout=10) as r:
    return json.load(r)


def test_tensorboard_server_shows_the_run(short_run):
  """The real TensorBoard server, on localhost, serves the run's scalars,
  samples image, config text, hparams and custom-scalars layout."""
  import urllib.parse
  workdir, _ = short_run
  port = _free_port()
  server = subprocess.Popen(
      [sys.executable, "-m", "tensorboard.main", "--logdir", str(workdir.parent),
       "--host", "127.0.0.1", "--port", str(port)],
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  base, run = f"http://127.0.0.1:{port}", workdir.name
  try:
    deadline, tags = time.time() + 90, {}
    while time.time() < deadline:
      try:
        tags = _get(base, "/data/plugin/scalars/tags")
        if "loss/d" in tags.get(run, {}):
          break
      except OSError:
        pass
      time.sleep(0.5)
    assert TRAIN_TAGS <= set(tags[run]), tags
    query = urllib.parse.urlencode({"run": run, "tag": "loss/d"})
    points = _get(base, f"/data/plugin/scalars/scalars?{query}")
    assert [p[1] for p in points] == [20, 40, 60]
    assert all(math.isfinite(p[2]) for p in points)
    assert "samples" in _get(base, "/data/plugin/images/tags")[run]
    assert _get(base, "/data/plugin/text/tags")[run] == ["config"]
    charts = _get(base, "/data/plugin/custom_scalars/layout")["category"][0]["chart"]
    assert [c["multiline"]["tag"] for c in charts][:2] == [["^loss/(d|g)$"],
                                                           ["^d_out/(real|fake)$"]]
    experiment = _get(base, "/data/plugin/hparams/experiment", {"experimentName": ""})
    names = {h["name"] for h in experiment["hparamInfos"]}
    assert {"rule", "one_step_form", "loss", "lambda", "lr_d", "lr_g", "batch_size",
            "penalties", "seed"} <= names
    metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
    assert {"eval/modes", "loss/d", "perf/steps_per_sec"} <= metrics
  finally:
    server.terminate()
    server.wait(timeout=30)

"""tools/bench.py end to end on tiny networks: every mode (speed, memory,
quality, curve, ops, flops, precision, backends, distribute, eval) writes JSON
and Markdown that parse and hold the values the tables show; bad flags are one
line. tools/benchlib/ is its library."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "bench.py")
TINY = ["--set=generator.hidden=[8]", "--set=discriminator.hidden=[8]",
        "--set=train.batch_size=16", "--set=eval.num_samples=64"]
sys.path.insert(0, os.path.join(ROOT, "tools"))


def _bench(*args, check=True):
  done = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                        cwd=ROOT, check=False, timeout=600)
  if check:
    assert done.returncode == 0, done.stderr[-3000:]
  return done


def _read(out, mode):
  with open(os.path.join(out, f"{mode}.json"), encoding="utf-8") as f:
    data = json.load(f)
  with open(os.path.join(out, f"{mode}.md"), encoding="utf-8") as f:
    return data, f.read()


# One of each kind: the base rule, a one-step form, every hand-written reference
# and both tf1_graph rules (building all 13 variants took 100 s of the suite's time;
# the rules and forms are each trained by their own tests).
SPEED_VARIANTS = ("alternating", "one_step/fused", "ref/tf_tutorial", "ref/keras_io",
                  "ref/tf1_session", "bare/one_step", "tf1/simultaneous", "tf1/one_step")


def test_speed_times_each_kind_of_variant_and_the_cli(tmp_path):
  from benchlib import variants
  assert set(SPEED_VARIANTS) <= set(variants.NAMES)
  _bench("speed", "--models=ring8", "--jit=false", "--steps=2", "--rounds=2", "--warmup=1",
         f"--variants={','.join(SPEED_VARIANTS)}",
         "--cli_models=ring8", "--steps_per_call=1,3", f"--out={tmp_path}", *TINY,
         "--set=train.log_every=2", "--set=train.sample_every=4",
         "--set=train.checkpoint_every=4")
  data, markdown = _read(tmp_path, "speed")
  rows = {r["variant"]: r for r in data["rows"]}
  assert list(rows) == list(SPEED_VARIANTS)
  for row in rows.values():
    assert len(row["ms"]) == 2 and 0 < row["ms_min"] <= row["ms_median"] <= row["ms_max"]
    assert row["steps_per_s"] == pytest.approx(1000.0 / row["ms_median"])
  assert rows["alternating"]["speedup_vs_alternating"] == pytest.approx(1.0)
  base = rows["alternating"]["ms_median"]
  fused = rows["one_step/fused"]
  assert fused["speedup_vs_alternating"] == pytest.approx(base / fused["ms_median"])
  assert [c["steps_per_call"] for c in data["cli"]] == [1, 3]
  for cli in data["cli"]:
    assert cli["cli_steps"] == 12 and cli["cli_steps_per_s"] > 0
    assert cli["cli_over_bare"] == pytest.approx(
        cli["cli_steps_per_s"] / cli["bare_steps_per_s"])
  assert "| ref/keras_io |" in markdown and "CLI / bare" in markdown
  assert "| ref/tf1_session |" in markdown  # the hand-written sess.run loop
  assert "- tf1/simultaneous is ×" in markdown and "- tf1/one_step is ×" in markdown
  assert "| ring8 | off | 3 |" in markdown
  assert "ring8" in data["header"] or "ring8" in markdown


def test_memory_one_subprocess_per_variant(tmp_path):
  _bench("memory", "--models=ring8", "--jit=false", "--variants=alternating",
         "--steps=2", f"--out={tmp_path}", *TINY)
  data, markdown = _read(tmp_path, "memory")
  assert [r["variant"] for r in data["rows"]] == ["alternating"]
  for row in data["rows"]:
    assert row["device"] == "CPU" and row["peak_rss_mib"] >= row["built_rss_mib"] > 100
    assert row["step_mib"] == pytest.approx(row["peak_rss_mib"] - row["built_rss_mib"])
  assert markdown.count("| ring8 | off |") == 1


def test_quality_calibrates_equal_wall_time_and_resumes(tmp_path):
  args = ["quality", "--datasets=ring8", "--rules=alternating",
          "--penalties=none", "--seeds=1", "--seconds=0.5", f"--out={tmp_path}", *TINY]
  _bench(*args)
  data, markdown = _read(tmp_path, "quality")
  rates = data["rates"]["ring8/none"]
  for run in data["runs"]:
    assert run["steps"] == int(0.5 * rates[run["rule"]])
    assert 0 <= run["modes"] <= 8 and 0 <= run["high_quality"] <= 100
    assert run["reverse_kl"] >= 0 and run["wall_s"] > 0
  assert [s["rule"] for s in data["summary"]] == ["alternating"]
  assert "PacGAN Table 1: PacGAN4 | | | | 7.8 ± 0.1 | 95.9 ± 1.4 | 0.07" in markdown
  first = {(r["rule"], r["seed"]): r for r in data["runs"]}
  # A second call with the same steps reads the finished runs back.
  from benchlib import quality
  for task in quality.tasks("ring8", ["alternating"], ["none"], 1,
                            {("alternating", "none"): first[("alternating", 0)]["steps"]},
                            os.path.join(tmp_path, "quality_runs"), 0.1, []):
    assert quality.run_one(task, 1) == first[("alternating", 0)]
    # A run that finished after the tool was stopped has no wall_s.txt: its log has.
    os.remove(os.path.join(task["workdir"], "wall_s.txt"))
    row = quality.run_one(task, 1)
    assert {**row, "wall_s": 0} == {**first[("alternating", 0)], "wall_s": 0}
    assert 0 < row["wall_s"] <= first[("alternating", 0)]["wall_s"] + 1


def test_curve_plots_a_metric_against_calibrated_time(tmp_path):
  """Fixed step counts (no calibration): 2 rules x 1 seed, 3 evaluations each."""
  _bench("curve", "--curve_model=ring8", "--metric=modes", "--rules=one_step/fused,alternating",
         "--seeds=1", "--seconds=2", "--points=3", "--workers=2",
         "--run_steps=ring8/none/one_step/fused=12,ring8/none/alternating=6",
         f"--out={tmp_path}", *TINY)
  data, markdown = _read(tmp_path, "curve")
  assert data["rates"] == {"one_step/fused": 6.0, "alternating": 3.0}
  assert sorted((r["rule"], r["seed"]) for r in data["runs"]) == [
      ("alternating", 0), ("one_step/fused", 0)]
  for run in data["runs"]:
    steps = [4, 8, 12] if run["rule"] == "one_step/fused" else [2, 4, 6]
    assert [s for s, _, _ in run["curve"]] == steps
    assert [t for _, t, _ in run["curve"]] == pytest.approx([s / (run["steps"] / 2) for s in steps])
    assert all(0 <= v <= 8 for _, _, v in run["curve"])
  fused = data["summary"]["one_step/fused"]
  assert fused["seeds"] == 1 and [p[1] for p in fused["points"]] == pytest.approx([2 / 3, 4 / 3, 2])
  assert "| one_step/fused | 1 |" in markdown
  png = tmp_path / "curve.png"
  assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_ops_profiles_each_variant(tmp_path):
  _bench("ops", "--models=ring8", "--variants=one_step/fused,one_step/classic,one_step/shared",
         "--jit=false", "--steps=2", "--warmup=1", f"--out={tmp_path}", *TINY)
  data, markdown = _read(tmp_path, "ops")
  rows = {r["variant"]: r for r in data["rows"]}
  assert set(rows) == {"one_step/fused", "one_step/classic", "one_step/shared"}
  for row in rows.values():
    matmuls = {k: v for k, v in row["ops"].items() if "MatMul" in k}
    assert matmuls and all(v["count"] > 0 and v["ms"] > 0 for v in matmuls.values())
    assert 0 < sum(v["ms"] for v in row["ops"].values()) and row["wall_ms"] > 0
  # The classic form calls D three times, the fused one twice: more matrix products.
  count = lambda r: sum(v["count"] for k, v in r["ops"].items() if "MatMul" in k)
  assert count(rows["one_step/classic"]) > count(rows["one_step/fused"])
  # D has 2 Dense layers here. fused: the weights' pass (2 weight products, layer
  # 2's input product) and the input pass (2 input products); shared: the
  # weights' pass and layer 1's input product, one backward pass in all.
  assert count(rows["one_step/fused"]) - count(rows["one_step/shared"]) == 1
  assert "| wall time |" in markdown
  assert "| op type | one_step/fused | one_step/classic |" in markdown


def _optimized_hlo(fn, *args):
  import tensorflow as tf
  return tf.function(fn, jit_compile=True).experimental_get_compiler_ir(*args)(
      stage="optimized_hlo")


def test_flops_of_compiled_convolutions_and_products():
  import tensorflow as tf
  from benchlib import flops
  x, kernel = tf.ones([2, 8, 8, 3]), tf.ones([3, 3, 3, 5])

  def conv(x, kernel):
    return tf.nn.conv2d(x, kernel, 2, "SAME")  # [2, 4, 4, 5], 27 products each

  def filter_gradient(x, kernel):
    with tf.GradientTape() as tape:
      tape.watch(kernel)
      y = conv(x, kernel)
    return tape.gradient(y, kernel)

  def transposed(y, kernel):  # [2, 8, 8, 3], each value from 1 position x 5 features
    return tf.nn.conv2d_transpose(y, kernel, [2, 8, 8, 3], 2, "VALID")

  def matmul(a, b):
    return tf.matmul(a, b)

  count = lambda fn, *args: flops.module_flops(_optimized_hlo(fn, *args))
  assert count(conv, x, kernel) == {"convolution": 2 * 2 * 4 * 4 * 5 * 27, "dot": 0,
                                    "instructions": 1}
  assert count(filter_gradient, x, kernel)["convolution"] == 2 * 2 * 4 * 4 * 5 * 27
  assert count(transposed, tf.ones([2, 4, 4, 5]), tf.ones([2, 2, 3, 5]))["convolution"] == (
      2 * 2 * 8 * 8 * 3 * 5)
  assert count(matmul, tf.ones([6, 7]), tf.ones([7, 9]))["dot"] == 2 * 6 * 7 * 9


def test_flops_counts_each_variants_compiled_step(tmp_path):
  _bench("flops", "--models=ring8", "--variants=one_step/fused,one_step/shared",
         f"--out={tmp_path}", "--set=generator.hidden=[8]", "--set=discriminator.hidden=[8,8]",
         "--set=train.batch_size=16")
  data, markdown = _read(tmp_path, "flops")
  rows = {r["variant"]: r for r in data["rows"]}
  for row in rows.values():
    assert row["modules"] == 1 and row["gflop"] == pytest.approx(
        row["conv_gflop"] + row["dot_gflop"]) and row["gflop"] > 0
  # ring8's D packs 2 samples: 8 packs of 4 values, 4 -> 8 -> 8 -> 1. fused's
  # second backward pass multiplies again by layer 2's weights on the fake
  # packs; shared's one pass does not: 8 x 8 x 8 multiply-adds fewer.
  fewer = rows["one_step/fused"]["gflop"] - rows["one_step/shared"]["gflop"]
  assert fewer * 1e9 == pytest.approx(2 * 8 * 8 * 8)
  # Without alternating among the variants there is no base for the ratio.
  assert all(row["alternating_work_over_this"] is None for row in rows.values())
  shared = rows["one_step/shared"]
  assert (f"| ring8 | one_step/shared | {shared['gflop']:.4f} | {shared['conv_gflop']:.4f} | "
          f"{shared['dot_gflop']:.4f} | – |") in markdown


def test_flops_ratio_is_the_base_rules_work_over_each():
  from benchlib import flops
  rows = [{"variant": "alternating", "gflop": 4.0}, {"variant": "one_step/shared", "gflop": 3.0}]
  flops.add_ratios(rows)
  assert [r["alternating_work_over_this"] for r in rows] == [1.0, pytest.approx(4 / 3)]


def test_mean_and_standard_error():
  from benchlib import quality
  mean, se = quality.mean_se([1.0, 2.0, 3.0, 4.0])
  assert mean == 2.5 and se == pytest.approx(1.2909944487358056 / 2)
  rows = [{"dataset": "ring8", "rule": "a", "penalty": "none", "seed": s, "steps": 5,
           "wall_s": 1.0, "modes": m, "high_quality": 90.0, "reverse_kl": 0.1}
          for s, m in enumerate([8, 7])]
  (summary,) = quality.summarize(rows)
  assert summary["modes"] == (7.5, 0.5) and summary["all_modes_runs"] == 1


def _grid(rows, *labels):
  """{variant: row}, every row's timing fields checked against each other."""
  for row in rows:
    assert len(row["ms"]) == 2 and 0 < row["ms_min"] <= row["ms_median"] <= row["ms_max"]
    assert row["steps_per_s"] == pytest.approx(1000.0 / row["ms_median"])
    assert set(labels) <= set(row) and row["model"] == "ring8"
  by = {r["variant"]: r for r in rows}
  for row in rows:
    assert row["speedup"] == pytest.approx(by[row["base"]]["ms_median"] / row["ms_median"])
  return by


def test_precision_times_each_policy_against_the_first(tmp_path):
  _bench("precision", "--models=ring8", "--precisions=float32,mixed_bfloat16", "--jit=false",
         "--steps=2", "--rounds=2", "--warmup=1", f"--out={tmp_path}", *TINY)
  data, markdown = _read(tmp_path, "precision")
  rows = _grid(data["rows"], "precision", "jit_compile")
  assert list(rows) == ["float32, XLA off", "mixed_bfloat16, XLA off"]
  assert [r["precision"] for r in rows.values()] == ["float32", "mixed_bfloat16"]
  assert {r["base"] for r in rows.values()} == {"float32, XLA off"}
  assert rows["float32, XLA off"]["speedup"] == 1.0
  assert "| mixed_bfloat16, XLA off |" in markdown and "| float32, XLA off | ×" in markdown


def test_backends_times_each_backend_and_says_what_it_skipped(tmp_path):
  # tf1_graph takes no learning-rate schedule (ring8 has one) and has no XLA.
  _bench("backends", "--models=ring8", "--rules=alternating", "--jit=false,true",
         "--steps=2", "--rounds=2", "--warmup=1", f"--out={tmp_path}", *TINY,
         "--set=optimizer.learning_rate=0.0001")
  data, markdown = _read(tmp_path, "backends")
  rows = _grid(data["rows"], "rule", "backend", "jit_compile")
  assert list(rows) == ["alternating / tf2", "alternating / tf2 + XLA",
                        "alternating / tf1_graph"]
  assert [(r["backend"], r["jit_compile"]) for r in rows.values()] == [
      ("tf2", False), ("tf2", True), ("tf1_graph", False)]
  assert {r["base"] for r in rows.values()} == {"alternating / tf2"}
  assert data["skipped"] == [{"model": "ring8", "variant": "alternating / tf1_graph + XLA",
                              "reason": "train.backend=tf1_graph has no XLA"}]
  assert "- alternating / tf1_graph + XLA: skipped (train.backend=tf1_graph has no XLA)" in markdown


def test_distribute_splits_the_cpu_for_mirrored(tmp_path):
  _bench("distribute", "--models=ring8", "--cpus=2", "--jit=false", "--steps=2",
         "--rounds=2", "--warmup=1", f"--out={tmp_path}", *TINY)
  data, markdown = _read(tmp_path, "distribute")
  rows = _grid(data["rows"], "strategy", "replicas", "global_batch")
  assert data["devices"] == ["/cpu:0", "/cpu:1"]
  assert [(v, r["strategy"], r["replicas"], r["global_batch"]) for v, r in rows.items()] == [
      ("one device", "default", 1, 16), ("mirrored", "mirrored", 2, 16)]
  assert "| mirrored | 2 | 16 |" in markdown


def test_eval_times_the_evaluation_of_a_yaml_file(tmp_path):
  """`--models` also takes a YAML file; eval runs its `eval` section on the sampler."""
  _bench("eval", "--models=configs/ring8.yaml", "--steps=2", "--rounds=2", "--warmup=1",
         f"--out={tmp_path}", *TINY, "--set=train.steps=100", "--set=eval.every=30")
  data, markdown = _read(tmp_path, "eval")
  (row,) = data["rows"]
  assert row["model"] == "configs/ring8.yaml" and row["evaluators"] == ["modes"]
  assert row["num_samples"] == 64 and len(row["eval_s"]) == len(row["step_ms"]) == 2
  assert 0 < row["eval_s_min"] <= row["eval_s_median"] <= row["eval_s_max"]
  assert row["first_eval_s"] > 0 and row["step_ms_median"] > 0
  assert (row["train_steps"], row["eval_every"], row["evaluations"]) == (100, 30, 4)
  cost = row["first_eval_s"] + 3 * row["eval_s_median"]
  assert row["eval_share"] == pytest.approx(
      cost / (cost + 100 * row["step_ms_median"] / 1000.0))
  assert 0 <= row["metrics"]["modes"] <= 8 and row["metrics"]["reverse_kl"] >= 0
  assert "| configs/ring8.yaml | modes | 64 |" in markdown
  assert "| 4 (every 30 of 100 steps) |" in markdown


BAD_ARGUMENTS = [
    (["sprint"], "mode: 'sprint' is not allowed; choose one of: speed, memory, quality, "
     "curve, ops, flops, precision, backends, distribute, eval"),
    (["quality", "--penalties=r3"], "--penalties: 'r3' is not allowed"),
    (["speed", "--steps_per_call=0"], "--steps_per_call: '0' is not allowed"),
    (["backends", "--rules=one_step"], "--rules: 'one_step' is not allowed; choose from: "),
    (["distribute", "--cpus=1"], "--cpus: 1 is not allowed; must be >= 2"),
    (["eval", "--models=none.yaml"], "--models: 'none.yaml' is not a file"),
    (["precision", "--models=ring9"], "--models: 'ring9' is not allowed"),
]


def test_bad_arguments_are_one_line():
  """Each case in a process of its own, all started side by side (each pays an
  interpreter start); a failure names its arguments."""
  procs = [(subprocess.Popen([sys.executable, TOOL, *args], cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE), args, message)
           for args, message in BAD_ARGUMENTS]
  for proc, args, message in procs:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 2 and "Traceback" not in err, (args, err[-2000:])
    assert message in err and len(err.strip().splitlines()) == 1, (args, err)

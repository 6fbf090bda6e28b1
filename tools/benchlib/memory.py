"""`bench.py memory`: peak memory of each variant, one fresh subprocess each.

On a GPU the figure is TensorFlow's own peak (`get_memory_info`) over the timed
steps. On a CPU it is the subprocess's peak resident set (`ru_maxrss`), of which
`step_mib` is the part above the resident set just before the first step: what
tracing and running the step added to the built run.
"""
import json
import os
import resource
import subprocess
import sys

from benchlib import models
from benchlib import report
from benchlib import timing
from benchlib import variants as variants_lib
import toolkit

_TOOL = os.path.join(models.ROOT, "tools", "bench.py")


def _rss_mib():
  with open("/proc/self/status", encoding="ascii") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024.0
  return float("nan")


def child(model, name, jit, steps, extra):
  """Runs in the subprocess: builds one variant, steps it, prints one JSON line."""
  tf = timing.tensorflow()
  gpu = bool(tf.config.list_physical_devices("GPU"))
  variant = variants_lib.build(model, name, jit, extra)
  built_mib = _rss_mib()
  if gpu:
    tf.config.experimental.reset_memory_stats("GPU:0")
  for _ in range(steps):
    out = variant.step()
  timing.fetch(out)
  peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
  result = {"model": model, "variant": name, "jit_compile": jit, "steps": steps,
            "device": "GPU" if gpu else "CPU", "built_rss_mib": built_mib,
            "peak_rss_mib": peak_mib, "step_mib": peak_mib - built_mib}
  if gpu:
    result["gpu_peak_mib"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
  print("BENCH_MEMORY " + json.dumps(result), flush=True)


def run_child(model, name, jit, steps, extra=(), env=None):
  """One variant's steps in a fresh subprocess (`child`): its JSON row."""
  given = os.path.abspath(model) if models.is_file(model) else model  # the child's cwd: ROOT
  command = [sys.executable, _TOOL, "_memory_child", f"--models={given}",
             f"--variants={name}", f"--jit={str(jit).lower()}", f"--steps={steps}"]
  command += [f"--set={e}" for e in extra]
  done = subprocess.run(command, capture_output=True, text=True, cwd=models.ROOT,
                        check=False, env=env)
  lines = [l for l in done.stdout.splitlines() if l.startswith("BENCH_MEMORY ")]
  if done.returncode or not lines:
    raise RuntimeError(f"child {model} {name} failed: "
                       f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
  return {**json.loads(lines[-1][len("BENCH_MEMORY "):]), "model": model}


def measure(model, jit, names, steps, extra=(), log=print):
  rows = []
  for name in names:
    rows.append(run_child(model, name, jit, steps, extra))
    r = rows[-1]
    log(f"{model} XLA {jit} {name}: peak RSS {r['peak_rss_mib']:.0f} MiB, "
        f"step {r['step_mib']:.1f} MiB")
  return rows


def main(flags, log):
  """The memory mode: (JSON payload, header -> Markdown)."""
  steps = flags.steps or 20
  toolkit.check_at_least(1, steps=steps)
  rows = []
  for model, jit in variants_lib.model_jits(flags):
    rows += measure(model, jit, flags.variants, steps, flags.set, log)
  return {"rows": rows}, lambda header: report.memory_markdown(header, rows)

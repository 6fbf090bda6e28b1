"""`bench.py precision`: each model under each precision policy (`--precisions`)
and with XLA off and on (`--jit`), built from the same seed and data, warmed up
(tracing, XLA compilation), then timed in interleaved rounds in one process
(`timing.compare`). Speedups are against the first variant (float32, XLA off
by default)."""
from benchlib import models
from benchlib import report
from benchlib import timing
from benchlib import variants as variants_lib
import toolkit


def measure(model, precisions, jits, steps, rounds, warmup, extra=(), log=print):
  """One row per (precision, XLA) variant of `model`."""
  path, overrides, _ = models.preset(model)
  built, labels = [], {}
  for precision in precisions:
    for jit in jits:
      name = f"{precision}, XLA {'on' if jit else 'off'}"
      run = timing.build_run(path, overrides + list(extra) + [
          f"precision.name={precision}", f"train.jit_compile={str(jit).lower()}"])
      built.append(timing.run_variant(name, run))
      labels[name] = {"model": model, "precision": precision, "jit_compile": jit}
  rows = timing.compare(built, lambda name: built[0].name, steps, rounds, warmup, labels)
  for r in rows:
    log(f"{model} {r['variant']}: {timing.summary(r['ms'])}  x{r['speedup']:.2f}")
  return rows


def main(flags, log):
  """The precision mode: (JSON payload, header -> Markdown)."""
  steps = toolkit.timed_steps(flags, 20)
  rows = []
  for model in flags.models:
    rows += measure(model, flags.precisions, variants_lib.jits(flags.jit, model, flags.set),
                    steps, flags.rounds, flags.warmup, flags.set, log)
  return {"rows": rows}, lambda header: report.grid_markdown(header, rows)

"""`bench.py backends`: each update rule (`--rules`) under each train backend
(`tfgan1.registry.BACKEND_MODULES`: tf2, tf1_graph) with XLA off and on
(`--jit`) where the backend has it (tf1_graph's graph has no tf.function to
compile), all from the same seed and data, timed in interleaved rounds in one
process (`timing.compare`) as the run loop steps them (`Backend.train(1)`).
Speedups are against the rule's first variant (tf2, XLA off by default). A
variant a backend refuses (e.g. tf1_graph and float16 precision) is
listed as skipped with its one-line reason."""
from benchlib import models
from benchlib import report
from benchlib import timing
from benchlib import variants as variants_lib
from tfgan1.registry import BACKEND_MODULES
from tfgan1.errors import UserError
import toolkit


def measure(model, rules, jits, steps, rounds, warmup, extra=(), log=print):
  """(rows, skipped): a row per (rule, backend, XLA) variant of `model` that the
  backend runs; the others as {"variant", "reason"} (its one-line refusal)."""
  from tfgan1 import backends  # pylint: disable=g-import-not-at-top  (imports TF)
  path, overrides, _ = models.preset(model)
  built, labels, base, skipped = [], {}, {}, []
  for rule in rules:
    for backend in BACKEND_MODULES:
      supports = backends.backend_class(backend).supports
      for jit in jits:
        name = f"{rule} / {backend}" + (" + XLA" if jit else "")
        if jit and not supports.jit_compile:
          skipped.append({"model": model, "variant": name,
                          "reason": f"train.backend={backend} has no XLA"})
          continue
        try:
          run = timing.build_run(path, overrides + list(extra) + variants_lib.RULES[rule] + [
              f"train.backend={backend}", f"train.jit_compile={str(jit).lower()}"])
        except UserError as e:  # this backend refuses this config: say why, go on
          skipped.append({"model": model, "variant": name, "reason": str(e)})
          continue
        built.append(timing.run_variant(name, run))
        labels[name] = {"model": model, "rule": rule, "backend": backend, "jit_compile": jit}
        base.setdefault(rule, name)
    if rule not in base:
      raise UserError(f"--models: {model!r} runs on no backend with {rule}: "
                      f"{skipped[-1]['reason']}")
  for s in skipped:
    log(f"{model} {s['variant']}: skipped ({s['reason']})")
  rows = timing.compare(built, lambda name: base[labels[name]["rule"]], steps, rounds, warmup,
                        labels)
  for r in rows:
    log(f"{model} {r['variant']}: {timing.summary(r['ms'])}  x{r['speedup']:.2f}")
  return rows, skipped


def main(flags, log):
  """The backends mode: (JSON payload, header -> Markdown)."""
  steps = toolkit.timed_steps(flags, 30)
  toolkit.check_choices(flags.rules, tuple(variants_lib.RULES), "rules")
  rows, skipped = [], []
  for model in flags.models:
    got = measure(model, flags.rules, variants_lib.jits(flags.jit, model, flags.set),
                  steps, flags.rounds, flags.warmup, flags.set, log)
    rows, skipped = rows + got[0], skipped + got[1]
  return ({"rows": rows, "skipped": skipped},
          lambda header: report.grid_markdown(header, rows, skipped=skipped))

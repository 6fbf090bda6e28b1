"""`bench.py eval`: one evaluation against train steps, interleaved in one process.

Per model it builds a run as `python -m tfgan1.run` does (nothing is written)
and its evaluators (`tfgan1.evaluation.loop.Evaluation`: the config's `eval`
section, or the dataset's defaults), evaluated as the run loop does, on
`run.sampler()` (the EMA generator, calibrated, when the run keeps one). After
`--warmup` untimed steps (tracing), the first evaluation pays the one-time costs
(loading a classifier, real-data features) and is reported on its own. Then
`--rounds` times: `--steps` train steps (`Backend.train(1)` each), then one
evaluation, so both see the same machine load. Reported: seconds per
evaluation, milliseconds per train step, and the share of a run of the config's
`train.steps` that evaluation takes at `eval.every` (0: the final evaluation
only), first-call costs included.
"""
import statistics
import time

from benchlib import models
from benchlib import report
from benchlib import timing
import toolkit


def _timed(fn):
  start = time.perf_counter()
  result = fn()
  return time.perf_counter() - start, result


def measure(model, steps, rounds, warmup, extra=(), log=print):
  """One row: `model`'s evaluation and train-step times, and eval's share of a run."""
  from tfgan1.evaluation.loop import Evaluation  # pylint: disable=g-import-not-at-top
  path, overrides, _ = models.preset(model)
  run = timing.build_run(path, overrides + list(extra))
  cfg = run.config
  evaluation = Evaluation(cfg, run.data)
  evaluate = lambda: evaluation(run.sampler())  # what the run loop evaluates
  train = timing.run_variant("train", run)
  timing.interleave([train], 1, 0, max(warmup, 1))  # tracing, outside every timing
  first, metrics = _timed(evaluate)
  evals, step_ms = [], []
  for _ in range(rounds):
    step_ms.append(timing.time_variant(train, steps))
    seconds, metrics = _timed(evaluate)
    evals.append(seconds)
  eval_s, step_s = statistics.median(evals), statistics.median(step_ms) / 1000.0
  count = (cfg.train.steps - 1) // cfg.eval.every + 1 if cfg.eval.every else 1
  cost = first - eval_s + count * eval_s
  row = {"model": model, "evaluators": [n for n, _ in evaluation.evaluators],
         "num_samples": cfg.eval.num_samples, "first_eval_s": first,
         "eval_s_median": eval_s, "eval_s_min": min(evals), "eval_s_max": max(evals),
         "eval_s": evals, "step_ms_median": statistics.median(step_ms),
         "step_ms_min": min(step_ms), "step_ms_max": max(step_ms), "step_ms": step_ms,
         "train_steps": cfg.train.steps, "eval_every": cfg.eval.every, "evaluations": count,
         "eval_share": cost / (cost + cfg.train.steps * step_s), "metrics": metrics}
  log(f"{model}: evaluators {', '.join(row['evaluators']) or 'none'}, first evaluation "
      f"{first:.3g} s, then {eval_s:.3g} s (min {min(evals):.3g}, max {max(evals):.3g}); "
      f"train step {1000 * step_s:.3g} ms; a run of {cfg.train.steps} steps with eval.every="
      f"{cfg.eval.every}: {count} evaluation(s), {100 * row['eval_share']:.1f}% of its time")
  return row


def main(flags, log):
  """The eval mode: (JSON payload, header -> Markdown)."""
  steps = toolkit.timed_steps(flags, 50)
  rows = [measure(model, steps, flags.rounds, flags.warmup, flags.set, log)
          for model in flags.models]
  return {"rows": rows}, lambda header: report.eval_markdown(header, rows)

"""JSON and Markdown output of `bench.py`: one format for every mode."""
import json
import os

from benchlib import variants as variants_lib


def write(out, mode, header, payload, markdown):
  """Writes OUT/<mode>.json and OUT/<mode>.md; returns their paths."""
  os.makedirs(out, exist_ok=True)
  paths = (os.path.join(out, f"{mode}.json"), os.path.join(out, f"{mode}.md"))
  with open(paths[0], "w", encoding="utf-8") as f:
    json.dump({"header": header, **payload}, f, indent=1)
  with open(paths[1], "w", encoding="utf-8") as f:
    f.write(markdown)
  return paths


def _spread(row):
  return f"{row['ms_median']:.2f} ({row['ms_min']:.2f}–{row['ms_max']:.2f})"


def speed_markdown(header, rows, cli_rows):
  lines = [f"<!-- {header} -->"]
  for model in dict.fromkeys(r["model"] for r in rows):
    for jit in dict.fromkeys(r["jit_compile"] for r in rows if r["model"] == model):
      group = [r for r in rows if r["model"] == model and r["jit_compile"] == jit]
      lines += ["", f"**{model}, XLA {'on' if jit else 'off'}**", "",
                "| variant | ms/step, median (min–max) | steps/s | × alternating |",
                "|---|---|---|---|"]
      for r in group:
        ratio = r["speedup_vs_alternating"]
        lines.append(f"| {r['variant']} | {_spread(r)} | {r['steps_per_s']:.1f} | "
                     + (f"×{ratio:.2f} |" if ratio else "– |"))
      lines += _targets(group)
  if cli_rows:
    lines += ["", "| model | XLA | steps per call | CLI steps/s | bare loop steps/s | "
              "CLI / bare |", "|---|---|---|---|---|---|"]
    lines += [f"| {c['model']} | {'on' if c['jit_compile'] else 'off'} | "
              f"{c['steps_per_call']} | "
              f"{c['cli_steps_per_s']:.1f} | {c['bare_steps_per_s']:.1f} | "
              f"×{c['cli_over_bare']:.3f} |" for c in cli_rows]
  return "\n".join(lines) + "\n"


def _targets(group):
  """The issue's ratios: the fastest one_step form against each reference."""
  by = {r["variant"]: r["ms_median"] for r in group}
  forms = {k: v for k, v in by.items() if k.startswith("one_step/")}
  if not forms:
    return []
  best = min(forms, key=forms.get)
  out = [""]
  for other in variants_lib.REFERENCES + ("simultaneous", variants_lib.BARE):
    if other in by:
      out.append(f"- {best} is ×{by[other] / forms[best]:.2f} the speed of {other}")
  for name in variants_lib.TF1:  # the tf1_graph backend against the hand-written TF1 loop
    if name in by and "ref/tf1_session" in by:
      out.append(f"- {name} is ×{by['ref/tf1_session'] / by[name]:.2f} the speed of "
                 "ref/tf1_session")
  return out


def grid_markdown(header, rows, extra=(), skipped=()):
  """Per model: each variant's ms per step, steps/s and speedup over its base
  (the precision, backends and distribute modes); `extra` row keys as columns;
  then the `skipped` variants ({"model", "variant", "reason"}), one line each."""
  lines = [f"<!-- {header} -->"]
  for model in dict.fromkeys(r["model"] for r in rows):
    lines += ["", f"**{model}**", "",
              "| variant | " + "".join(f"{k} | " for k in extra)
              + "ms/step, median (min–max) | steps/s | against | × |",
              "|---" * (len(extra) + 5) + "|"]
    for r in rows:
      if r["model"] == model:
        lines.append(f"| {r['variant']} | " + "".join(f"{r[k]} | " for k in extra)
                     + f"{_spread(r)} | {r['steps_per_s']:.1f} | {r['base']} | "
                     f"×{r['speedup']:.2f} |")
    lines += [""] * any(s["model"] == model for s in skipped)
    lines += [f"- {s['variant']}: skipped ({s['reason']})" for s in skipped
              if s["model"] == model]
  return "\n".join(lines) + "\n"


def _every(every):
  return f"every {every}" if every else "the final one"


def eval_markdown(header, rows):
  """Per model: one evaluation's seconds against a train step's, and its share of a run."""
  lines = [f"<!-- {header} -->", "",
           "| model | evaluators | samples | first eval s | eval s, median (min–max) | "
           "train ms/step | evaluations per run | share of the run |",
           "|---|---|---|---|---|---|---|---|"]
  for r in rows:
    lines.append(
        f"| {r['model']} | {', '.join(r['evaluators']) or 'none'} | {r['num_samples']} | "
        f"{r['first_eval_s']:.3g} | {r['eval_s_median']:.3g} ({r['eval_s_min']:.3g}–"
        f"{r['eval_s_max']:.3g}) | {r['step_ms_median']:.2f} | {r['evaluations']} "
        f"({_every(r['eval_every'])} of {r['train_steps']} steps) | "
        f"{100 * r['eval_share']:.2f}% |")
  return "\n".join(lines) + "\n"


def memory_markdown(header, rows):
  lines = [f"<!-- {header} -->", "",
           "| model | XLA | variant | peak RSS MiB | step MiB | GPU peak MiB |",
           "|---|---|---|---|---|---|"]
  for r in rows:
    gpu = f"{r['gpu_peak_mib']:.0f}" if "gpu_peak_mib" in r else "–"
    lines.append(f"| {r['model']} | {'on' if r['jit_compile'] else 'off'} | {r['variant']} | "
                 f"{r['peak_rss_mib']:.0f} | {r['step_mib']:.1f} | {gpu} |")
  return "\n".join(lines) + "\n"


def flops_markdown(header, rows):
  """GFLOP per step per variant, and the base rule's work over each variant's."""
  lines = [f"<!-- {header} -->", "",
           "| model | variant | GFLOP per step | convolutions | dot products | "
           "alternating's work / this |", "|---|---|---|---|---|---|"]
  for r in rows:
    ratio = r.get("alternating_work_over_this")
    lines.append(f"| {r['model']} | {r['variant']} | {r['gflop']:.4f} | {r['conv_gflop']:.4f} | "
                 f"{r['dot_gflop']:.4f} | {'–' if ratio is None else f'×{ratio:.3f}'} |")
  return "\n".join(lines) + "\n"


def _pm(pair, fmt):
  return f"{fmt.format(pair[0])} ± {fmt.format(pair[1])}"


def quality_markdown(header, summaries, pacgan):
  """The quality table, then the rows of `pacgan` (PacGAN's Table 1) per dataset."""
  lines = [f"<!-- {header} -->", "",
           "| data | rule | penalty | seeds | steps | modes | high quality % | reverse KL | "
           "all modes | wall s |", "|---|---|---|---|---|---|---|---|---|---|"]
  for s in summaries:
    lines.append(
        f"| {s['dataset']} | {s['rule']} | {s['penalty']} | {s['seeds']} | {s['steps']} | "
        f"{_pm(s['modes'], '{:.1f}')} | {_pm(s['high_quality'], '{:.1f}')} | "
        f"{_pm(s['reverse_kl'], '{:.3f}')} | {s['all_modes_runs']}/{s['seeds']} | "
        f"{s['wall_s'][0]:.0f} |")
  for dataset in dict.fromkeys(s["dataset"] for s in summaries):
    for name, (m, m_se, hq, hq_se, kl) in pacgan[dataset].items():
      lines.append(f"| {dataset} | PacGAN Table 1: {name} | | | | {m} ± {m_se} | "
                   f"{hq} ± {hq_se} | {kl} | | |")
  return "\n".join(lines) + "\n"


def curve_markdown(header, summary, metric):
  """One row per rule: its metric (mean ± s.e.) at each evaluation, in calibrated s."""
  lines = [f"<!-- {header} -->", "",
           f"| rule | seeds | {metric} (mean ± s.e.) at calibrated seconds: step | "
           "lowest mean | real wall s |", "|---|---|---|---|---|"]
  for rule, s in summary.items():
    # One decimal: a run's last step can fall just past its last evaluation step.
    cells = ", ".join(f"{t:.1f} s: {m:.1f} ± {e:.1f}" for _, t, m, e in s["points"])
    best = min(m for _, _, m, _ in s["points"])
    lines.append(f"| {rule} | {s['seeds']} | {cells} | {best:.1f} | {s['wall_s']:.0f} |")
  return "\n".join(lines) + "\n"


def ops_markdown(header, rows, top_ops, limit=12):
  """Per model and XLA setting: ms per step (ops per step) of the top op types."""
  lines = [f"<!-- {header} -->"]
  for model, jit in dict.fromkeys((r["model"], r["jit_compile"]) for r in rows):
    group = [r for r in rows if r["model"] == model and r["jit_compile"] == jit]
    names = [r["variant"] for r in group]
    lines += ["", f"**{model}, XLA {'on' if jit else 'off'}**: ms per step (ops per step)",
              "", "| op type | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for op in top_ops({r["variant"]: r["ops"] for r in group}, limit):
      cells = [r["ops"].get(op, {"ms": 0.0, "count": 0}) for r in group]
      lines.append(f"| {op} | " + " | ".join(f"{c['ms']:.2f} ({c['count']:g})" for c in cells)
                   + " |")
    lines.append("| all ops | " + " | ".join(
        f"{sum(v['ms'] for v in r['ops'].values()):.2f} "
        f"({sum(v['count'] for v in r['ops'].values()):g})" for r in group) + " |")
    lines.append("| wall time | " + " | ".join(f"{r['wall_ms']:.2f}" for r in group) + " |")
  return "\n".join(lines) + "\n"

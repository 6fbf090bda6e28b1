"""`bench.py flops`: the arithmetic each variant's step does, counted in the
program XLA compiles for it.

Each variant runs one step with XLA on, in a fresh subprocess (`memory.child`)
whose `XLA_FLAGS` dump every compiled module after XLA's optimizations, so
dead code (gradients a tape computed and nothing read) is gone. Every
`convolution` and `dot` instruction of those modules, fusions included, is
counted as 2 x its multiply-adds. A transposed convolution is compiled as a
convolution over an input with zeros inserted between its values
(`lhs_dilate`); only the products with real values count, so its window is
divided by the dilation (exact away from the edges, where padding replaces
some of the real values). Elementwise ops, reductions and the optimizer's
update are left out: their time goes to memory traffic, not arithmetic (on
mnist_dcgan about a fifth of the op time: docs/BENCHMARKS.md, "Where the time
goes, op by op"; the counts: "Work per step, counted").

The child always compiles for the CPU (no GPU is made visible to it): the
count is the same algebra on any device, and the CPU's compiled program keeps
`convolution` and `dot` as instructions, where a GPU's calls cuDNN and cuBLAS.
"""
import glob
import math
import os
import re
import tempfile

from benchlib import memory
from benchlib import report
from benchlib.variants import BASE

# `%name = f32[64,14,14,64]{3,2,1,0} convolution(%a, %b), window=...`
_INSTRUCTION = re.compile(
    r"^\s*(?:ROOT\s+)?%([\w.\-]+)\s*=\s*\w+\[([\d,]*)\]\S*\s+([\w\-]+)\((.*)$")
_OPS = ("convolution", "dot")


def _ints(text):
  return [int(d) for d in text.split(",") if d]


def _multiply_adds(op, out, lhs, rhs, rest):
  if op == "dot":
    contracting = _ints(re.search(r"lhs_contracting_dims=\{([\d,]*)\}", rest).group(1))
    return math.prod(out) * math.prod(lhs[i] for i in contracting)
  kernel = re.search(r"dim_labels=\w+_(\w+)->\w+", rest).group(1)
  window = math.prod(size for size, label in zip(rhs, kernel) if label not in "io")
  # Each output value sums window x (input features per group) products; of an
  # lhs-dilated input's window, 1/dilation of the positions hold real values.
  dilate = re.search(r"lhs_dilate=([\dx]+)", rest)
  dilation = math.prod(_ints(dilate.group(1).replace("x", ","))) if dilate else 1
  return math.prod(out) * window * rhs[kernel.index("i")] // dilation


def module_flops(hlo_text):
  """{"convolution": FLOPs, "dot": FLOPs, "instructions": n} of one HLO module."""
  shapes, found = {}, []
  for line in hlo_text.splitlines():
    match = _INSTRUCTION.match(line)
    if match:
      name, dims, op, rest = match.groups()
      shapes[name] = _ints(dims)
      if op in _OPS:
        found.append((op, shapes[name], rest))
  out = {"convolution": 0, "dot": 0, "instructions": len(found)}
  for op, dims, rest in found:
    lhs, rhs = re.findall(r"%([\w.\-]+)", rest.split(")", 1)[0])[:2]
    out[op] += 2 * _multiply_adds(op, dims, shapes[lhs], shapes[rhs], rest)
  return out


def count(folder):
  """The sum of `module_flops` over every optimized module dumped in `folder`."""
  paths = sorted(glob.glob(os.path.join(folder, "*after_optimizations.txt")))
  total = {"convolution": 0, "dot": 0, "instructions": 0, "modules": len(paths)}
  for path in paths:
    with open(path, encoding="utf-8") as f:
      for key, value in module_flops(f.read()).items():
        total[key] += value
  return total


def measure(model, names, extra=(), log=print):
  """One row per variant: GFLOP per step, from one step's compiled modules."""
  rows = []
  for name in names:
    with tempfile.TemporaryDirectory() as folder:
      env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", XLA_FLAGS=" ".join(
          [os.environ.get("XLA_FLAGS", ""), f"--xla_dump_to={folder}",
           "--xla_dump_hlo_as_text"]).strip())
      memory.run_child(model, name, True, 1, extra, env=env)
      total = count(folder)
    if not total["modules"]:
      raise RuntimeError(f"{model} {name}: XLA compiled no module")
    rows.append({"model": model, "variant": name, "modules": total["modules"],
                 "instructions": total["instructions"],
                 "conv_gflop": total["convolution"] / 1e9, "dot_gflop": total["dot"] / 1e9,
                 "gflop": (total["convolution"] + total["dot"]) / 1e9})
    log(f"{model} {name}: {rows[-1]['gflop']:.4f} GFLOP per step "
        f"({total['modules']} module(s))")
  return add_ratios(rows)


def add_ratios(rows):
  """Each row's `alternating_work_over_this` (None without the base rule's row):
  the speed table's direction, above 1 for less work than the base."""
  base = [r["gflop"] for r in rows if r["variant"] == BASE]
  for r in rows:
    r["alternating_work_over_this"] = base[0] / r["gflop"] if base else None
  return rows


def main(flags, log):
  """The flops mode: (JSON payload, header -> Markdown)."""
  rows = [row for model in flags.models for row in measure(model, flags.variants, flags.set, log)]
  return {"rows": rows}, lambda header: report.flops_markdown(header, rows)

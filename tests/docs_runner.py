"""Runs the docs' runnable blocks and the examples in one process (the test's child).

    python tests/docs_runner.py SPECS.json

SPECS.json is a list of {"where", "source", "set"}. Each source runs in a fresh
namespace, with `set` appended to every `tfgan1.load_config` call so the docs'
real commands train a tiny run. Prints `FAILED <where>` and the traceback of
each block that raised; exits 1 if any did.
"""
import json
import sys
import traceback

import tfgan1


def main(specs_path):
  with open(specs_path, encoding="utf-8") as f:
    specs = json.load(f)
  load_config, failed = tfgan1.load_config, 0
  for spec in specs:
    extra = list(spec.get("set", ()))
    tfgan1.load_config = (lambda config, overrides=(), _extra=extra:
                          load_config(config, list(overrides) + _extra))
    print(f"RUNNING {spec['where']}", flush=True)
    try:
      exec(compile(spec["source"], spec["where"], "exec"), {"__name__": "__main__"})  # pylint: disable=exec-used
    except BaseException:  # pylint: disable=broad-except  (report every block)
      failed += 1
      print(f"FAILED {spec['where']}", flush=True)
      traceback.print_exc(file=sys.stdout)
  tfgan1.load_config = load_config
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1]))

"""Reads the docs' Markdown: fenced blocks, their markers, links and headings.

Shared by tests/test_docs.py and the runnable-block driver. Markers are HTML
comments on the line before a fence, invisible in the rendered page:

    <!-- runnable: {"set": ["train.steps=20"], "replace": {"epochs=20": "epochs=1"}} -->
    <!-- file: my_loss.py -->

`runnable` blocks run (the `set` strings are appended to every
`tfgan1.load_config` call, `replace` edits the source first, so the page shows
the real numbers and the test trains a tiny run); `file` blocks are written to
that file name, for the commands that name it (`--plugin my_loss.py`).
"""
import dataclasses
import json
import pathlib
import re
import shlex
from typing import Optional

ROOT = pathlib.Path(__file__).resolve().parent.parent
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*(runnable|file):\s*(.*?)\s*-->\s*$")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@dataclasses.dataclass
class Block:
  path: pathlib.Path
  line: int
  lang: str
  text: str
  marker: Optional[str] = None  # "runnable" or "file"
  argument: object = None  # the runnable options dict, or the file name

  def where(self):
    return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files():
  """README.md, CHANGELOG.md and every Markdown page under docs/."""
  return [ROOT / "README.md", ROOT / "CHANGELOG.md"] + sorted((ROOT / "docs").rglob("*.md"))


def blocks(path):
  """Every fenced block of a Markdown file, with the marker above it."""
  lines = path.read_text(encoding="utf-8").splitlines()
  found, i = [], 0
  while i < len(lines):
    opening = _FENCE.match(lines[i])
    if not opening:
      i += 1
      continue
    end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
    marker = _MARKER.match(lines[i - 1]) if i else None
    block = Block(path, i + 1, opening.group(1), "\n".join(lines[i + 1:end]))
    if marker:
      block.marker = marker.group(1)
      block.argument = (json.loads(marker.group(2)) if block.marker == "runnable"
                        else marker.group(2))
    found.append(block)
    i = end + 1
  return found


def commands(block):
  """The shell commands of a bash block: continuations joined, `#` comments,
  `$ ` prompts and `&&`/`;`/`|` chains split off."""
  text = block.text.replace("\\\n", " ")
  found = []
  for line in text.splitlines():
    line = line.strip()
    if line.startswith("$ "):
      line = line[2:]
    try:
      words = shlex.split(line, comments=True)
    except ValueError:
      continue
    current = []
    for word in words + [";"]:
      if word in ("&&", ";", "|", "||"):
        if current:
          found.append(current)
        current = []
      else:
        current.append(word)
  return found


def slug(heading):
  """MkDocs' (Python-Markdown toc) anchor of a heading."""
  text = re.sub(r"[`*_\[\]]", "", heading).strip().lower()
  text = re.sub(r"[^\w\s-]", "", text)
  return re.sub(r"[-\s]+", "-", text).strip("-")


def anchors(path):
  """The anchors of a Markdown file's headings (outside fences)."""
  found, fenced = set(), False
  for line in path.read_text(encoding="utf-8").splitlines():
    if line.startswith("```"):
      fenced = not fenced
    elif not fenced and line.startswith("#"):
      found.add(slug(line.lstrip("#")))
  return found


def links(path):
  """(line number, target) of every Markdown link and image outside fences."""
  found, fenced = [], False
  for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
    if line.startswith("```"):
      fenced = not fenced
    elif not fenced:  # inline code (`f(x)["a"](b)`) is not a link
      found += [(number, target) for target in _LINK.findall(re.sub(r"`[^`]*`", "", line))]
  return found

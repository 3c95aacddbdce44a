#!/usr/bin/env python3
"""Fail when the library's top-level modules reference each other in a circle.

Reads every `.rs` file under `src/` (except `main.rs`, the binary), takes the top-level module
it belongs to (`src/plan/render.rs` -> `plan`), and collects the top-level modules it names
through `crate::` paths (including `use crate::{a, b::c}` groups) and through `super::` paths
that climb out of their own top-level module. Comments and doc links count: a doc link is a
reference too. Then it looks for strongly connected groups (Tarjan) in that graph and prints
each one with the lines that make its edges. Exit status 1 when there is any, else 0.

Run it from anywhere: `python3 scripts/check-circles.py` (`--graph` prints every edge, `--root
DIR` checks another `src/` folder).
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
if "--root" in sys.argv[1:]:
    # Another crate's `src/` (the tests check the check on a tree with a circle).
    ROOT = sys.argv[sys.argv.index("--root") + 1]
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
CRATE_PATH = re.compile(r"\bcrate\s*::\s*(\{|" + IDENT + ")")
SUPER_PATH = re.compile(r"\b((?:super\s*::\s*)+)(\{|" + IDENT + ")")
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*\{")


def group_heads(text, start):
    """The first path segment of each item in a `{a, b::c, d::{e}}` group starting at `start`."""
    depth, item, heads = 0, "", []
    for ch in text[start:]:
        if ch == "{":
            depth += 1
            if depth == 1:
                continue
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and ch == ",":
            heads.append(item)
            item = ""
        elif depth >= 1:
            item += ch
    heads.append(item)
    out = []
    for h in heads:
        m = re.match(r"\s*(" + IDENT + ")", h)
        if m:
            out.append(m.group(1))
    return out


def module_path(rel):
    """`plan/render.rs` -> ['plan', 'render']; `plan/mod.rs` -> ['plan']; `util.rs` -> ['util']."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def references(path, rel, modules):
    """(top-level module, line number, line) for every other top-level module this file names."""
    own = module_path(rel)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    inline = []  # stack of (name, brace depth at which it opened)
    depth = 0
    for no, line in enumerate(lines, 1):
        m = INLINE_MOD.match(line)
        if m:
            inline.append((m.group(1), depth))
        here = own + [name for name, _ in inline]
        heads = []
        for m in CRATE_PATH.finditer(line):
            if m.group(1) == "{":
                # A group may span lines: read on from here.
                rest = "\n".join([line[m.start(1):]] + lines[no:no + 60])
                heads += group_heads(rest, 0)
            else:
                heads.append(m.group(1))
        for m in SUPER_PATH.finditer(line):
            ups = m.group(1).count("super")
            if ups > len(here):
                continue  # above the crate root: not a path we resolve
            base = here[: len(here) - ups]
            if base:
                continue  # still inside its own top-level module
            if m.group(2) == "{":
                rest = "\n".join([line[m.start(2):]] + lines[no:no + 60])
                heads += group_heads(rest, 0)
            else:
                heads.append(m.group(2))
        for h in heads:
            if h in modules and h != own[0]:
                yield h, no, line.strip()
        depth += line.count("{") - line.count("}")
        while inline and depth <= inline[-1][1]:
            inline.pop()


def graph():
    modules = set()
    for name in os.listdir(ROOT):
        if name.endswith(".rs") and name not in ("lib.rs", "main.rs"):
            modules.add(name[:-3])
        elif os.path.isdir(os.path.join(ROOT, name)):
            modules.add(name)
    edges = {m: {} for m in modules}
    for dirpath, _, files in os.walk(ROOT):
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)
            if rel in ("lib.rs", "main.rs"):
                continue
            src = module_path(rel)[0]
            for dst, no, line in references(path, rel, modules):
                edges[src].setdefault(dst, []).append(f"src/{rel}:{no}: {line}")
    return edges


def strongly_connected(edges):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    edges = graph()
    if "--graph" in sys.argv[1:]:
        for src in sorted(edges):
            for dst in sorted(edges[src]):
                print(f"{src} -> {dst}  ({len(edges[src][dst])} references)")
        return 0
    groups = strongly_connected(edges)
    if not groups:
        print(f"no import circles among {len(edges)} top-level modules")
        return 0
    for group in groups:
        print(f"error: import circle among: {', '.join(group)}", file=sys.stderr)
        members = set(group)
        for src in group:
            for dst in sorted(edges[src]):
                if dst in members:
                    refs = edges[src][dst]
                    print(f"  {src} -> {dst}:", file=sys.stderr)
                    for r in refs[:5]:
                        print(f"    {r}", file=sys.stderr)
                    if len(refs) > 5:
                        print(f"    … and {len(refs) - 5} more", file=sys.stderr)
    print(
        "hint: move the shared fact to a module both sides may use (model/ or a small module "
        "of its own) and update the call sites",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())

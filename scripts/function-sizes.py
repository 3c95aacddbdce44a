#!/usr/bin/env python3
"""List the functions under src/ longer than a limit, and fail when there is one.

A function's length counts its lines from the line holding `fn` to the line holding its
closing brace, both included. The scan is lexical: it skips comments, string and char
literals (raw strings too) so braces inside them do not count. Usage:

    python3 scripts/function-sizes.py            # fail on any function over 150 lines
    python3 scripts/function-sizes.py --limit 80 # another limit
    python3 scripts/function-sizes.py --top 20   # list the 20 longest, never fail
    python3 scripts/function-sizes.py --root DIR # check another `src/` folder
"""

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def blank_out(text):
    """Return text with comments and literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:i + 300])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('x', '\n', '\u{..}') or a lifetime ('a): only the former is skipped.
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'", text[i:i + 12])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """Yield (name, first line, last line) for every function with a body in one file."""
    code = blank_out(path.read_text(encoding="utf-8"))
    for m in FN.finditer(code):
        # The body is the first `{` after the signature at bracket depth 0; a `;` first means
        # a declaration without a body (trait method, extern fn).
        depth, j = 0, m.end()
        while j < len(code):
            ch = code[j]
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            if depth == 0 and ch == ";":
                j = -1
                break
            if depth == 0 and ch == "{":
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        level, k = 0, j
        while k < len(code):
            if code[k] == "{":
                level += 1
            elif code[k] == "}":
                level -= 1
                if level == 0:
                    break
            k += 1
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, k) + 1
        yield m.group(1), first, last


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--root", type=pathlib.Path, default=ROOT / "src")
    args = parser.parse_args()
    src = args.root.resolve()
    rows = []
    for path in sorted(src.rglob("*.rs")):
        rel = path.relative_to(src.parent)
        for name, first, last in functions(path):
            rows.append((last - first + 1, f"{rel}:{first}", name))
    rows.sort(key=lambda r: (-r[0], r[1]))
    if args.top:
        for size, where, name in rows[: args.top]:
            print(f"{size:5} {where} {name}")
        return 0
    over = [r for r in rows if r[0] > args.limit]
    for size, where, name in over:
        print(f"{where}: fn {name} is {size} lines (limit {args.limit})", file=sys.stderr)
    if over:
        print(f"{len(over)} function(s) over {args.limit} lines: split them along their phases", file=sys.stderr)
        return 1
    print(f"no function over {args.limit} lines ({len(rows)} functions)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Code-shape figures for the Rust crates, and a check of their layer order.

Prints what grows unnoticed until it hurts: files over 400 lines (whole, and
the code before the unit-test module), the longest Leptos components, the SQL
strings checked only at runtime (sqlx::query* functions, not the compile-time
checked query! macros), and the cycles among each crate's top-level modules.

`--check-layers` enforces docs/layers.txt: a module may import modules of its
own layer or below. `allow:` lines list known upward imports as debt; the check
fails when one of them no longer occurs, so that list can only shrink.
Python 3 stdlib only; it reads the sources, it does not build them.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC_DIRS = ["app/src", "server/src", "frontend/src"]
CRATES = {"app": "app/src", "server": "server/src"}
LIB_NAME = {"server": "tandem"}  # the name main.rs and bin/ use for their library
LAYERS = ROOT / "docs/layers.txt"
LONG = 400
TEST_MOD = re.compile(r"^#\[cfg\(test\)\]", re.M)
TEST_FILE = re.compile(r"/tests(/|\.rs$)|_tests\.rs$")
LITERAL = re.compile(r"""
    //[^\n]*                          # line comment
  | /\*                               # block comment: nests, see literal_end
  | b?r(?P<hashes>\#*)"               # raw string: ends at "#..# (same count)
  | b?"(?:\\.|[^"\\])*"              # string
  | b?'(?:\\u\{\w+\}|\\.|[^\\'])'      # char literal such as '{' (a lifetime has no closing ')
""", re.X | re.S)


# --- reading Rust -----------------------------------------------------------

def matching(text, i, opener, closer):
    """Index just past the `closer` that balances the `opener` at i."""
    depth = 0
    for m in re.compile(f"{re.escape(opener)}|{re.escape(closer)}").finditer(text, i):
        depth += 1 if m.group() == opener else -1
        if depth == 0:
            return m.end()
    return len(text)


def literal_end(text, m):
    """End of the comment or literal whose start LITERAL matched."""
    if m.group() == "/*":
        return matching(text, m.start(), "/*", "*/")
    if m.group("hashes") is not None:
        j = text.find('"' + m.group("hashes"), m.end())
        return len(text) if j < 0 else j + 1 + len(m.group("hashes"))
    return m.end()


def strip(text):
    """The text with comments, strings and char literals blanked (newlines
    kept), so that braces and paths are matched in code alone."""
    out, pos = [], 0
    while m := LITERAL.search(text, pos):
        end = literal_end(text, m)
        out += [text[pos:m.start()], re.sub(r"[^\n]", " ", text[m.start():end])]
        pos = end
    return "".join(out + [text[pos:]])


def close_of(code, i):
    """Index of the brace closing the one opening at i."""
    return matching(code, i, "{", "}") - 1


def line_of(code, i):
    return code.count("\n", 0, i) + 1


def load():
    """{relative path: (text, stripped code)} of every Rust file under SRC_DIRS."""
    files = {}
    for src in SRC_DIRS:
        for path in sorted((ROOT / src).rglob("*.rs")):
            text = path.read_text(encoding="utf-8")
            files[path.relative_to(ROOT).as_posix()] = (text, strip(text))
    return files


# --- figures ----------------------------------------------------------------

def long_files(files):
    rows = []
    for rel, (text, _) in files.items():
        m = TEST_MOD.search(text)
        whole = len(text.splitlines())
        code = len(text[:m.start()].splitlines()) if m else whole
        if not TEST_FILE.search(rel) and whole > LONG:
            rows.append((code, whole, rel))
    over = sum(code > LONG for code, _, _ in rows)
    print(f"Files over {LONG} lines: {len(rows)} whole, {over} before unit tests")
    print(f"  {'whole':>6} {'code':>6}  file")
    for code, whole, rel in sorted(rows, reverse=True):
        print(f"  {whole:>6} {code:>6}  {rel}")


def components(files):
    """(lines, place, name) of each #[component] fn, attribute to closing brace."""
    for rel, (_, code) in files.items():
        for m in re.finditer(r"^[ \t]*#\[component\]", code, re.M):
            fn = re.compile(r"\bfn\s+(\w+)").search(code, m.end())
            end = close_of(code, code.index("{", fn.end()))
            start = line_of(code, m.start())
            yield line_of(code, end) - start + 1, f"{rel}:{start}", fn.group(1)


def longest_components(files, top=10):
    found = sorted(components(files), reverse=True)
    print(f"\nLongest Leptos components (of {len(found)}):")
    for length, place, name in found[:top]:
        print(f"  {length:>5}  {name:<28} {place}")


SQL_CALL = re.compile(r"(?<![\w.:])(sqlx::)?(query|query_as|query_scalar)(\(|::<)")
SQLX_USE = re.compile(r"\buse\s+sqlx::(\{[^;]*\}|\w+)\s*;")


def sql_sites(code):
    """Runtime-checked sqlx calls; bare names count when imported from sqlx."""
    imported = {w for m in SQLX_USE.finditer(code) for w in re.findall(r"\w+", m.group(1))}
    count = 0
    for m in SQL_CALL.finditer(code):
        if re.search(r"\bfn\s+$", code[max(0, m.start() - 8):m.start()]):
            continue  # a definition, not a call
        bare_turbofish = m.group(2) == "query_as" and code.startswith("::<_", m.start(3))
        count += bool(m.group(1) or bare_turbofish or m.group(2) in imported)
    return count


def runtime_sql(files, top=15):
    per_file = {rel: n for rel, (_, code) in files.items() if (n := sql_sites(code))}
    print(f"\nRuntime SQL strings: {sum(per_file.values())} call sites in {len(per_file)} files")
    for rel, n in sorted(per_file.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        print(f"  {n:>5}  {rel}")


# --- module graph -------------------------------------------------------------

def top_modules(files, crate):
    src = CRATES[crate]
    mods = set()
    for root in ("lib.rs", "main.rs"):
        code = files.get(f"{src}/{root}", ("", ""))[1]
        mods |= set(re.findall(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", code, re.M))
    if crate in LIB_NAME:
        mods.add("main")  # main.rs and bin/: binaries over the library
    return mods - {"tests"}


def module_of(rel, crate, mods):
    """(top-level module, module path within the crate) of a file, or None."""
    parts = rel[len(CRATES[crate]) + 1:-3].split("/")
    if crate in LIB_NAME and parts[0] in ("main", "bin"):
        return "main", []
    return (parts[0], parts) if parts[0] in mods else None


def group_heads(code, i):
    """(first segment, offset) of each item in the use group opening at i."""
    end, depth, start, heads = close_of(code, i), 0, i + 1, []
    for j in range(i + 1, end + 1):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}" and depth:
            depth -= 1
        elif depth == 0 and code[j] in ",}":
            m = re.compile(r"\s*(\w+)").match(code, start)
            if m and m.start(1) < j:
                heads.append((m.group(1), m.start(1)))
            start = j + 1
    return heads


def heads_after(code, end):
    """Names a path continues with after `prefix::` ending at `end`."""
    if code.startswith("{", end):
        return group_heads(code, end)
    m = re.compile(r"\w+").match(code, end)
    return [(m.group(), m.start())] if m else []


def mentions(code, path, root):
    """(top-level name, offset) of every path from the crate root in a file:
    `crate::X`, `root::X` for binaries, or enough `super::` to reach the root."""
    if root:
        for m in re.finditer(rf"(?<![\w:$]){root}::", code):
            yield from heads_after(code, m.end())
        return
    for m in re.finditer(r"(?<![\w$])crate::", code):
        yield from heads_after(code, m.end())
    spans = [(m.end() - 1, close_of(code, m.end() - 1))
             for m in re.finditer(r"\bmod\s+\w+\s*\{", code)]
    for m in re.finditer(r"(?<![\w:])((?:super::)+)", code):
        ups = m.group(1).count("super")
        if ups == len(path) + sum(a < m.start() < b for a, b in spans):
            yield from heads_after(code, m.end())


def imports(files, crate, mods):
    """[(file, line, from, to)] once per file and target module."""
    found = {}
    for rel, (_, code) in files.items():
        if not rel.startswith(CRATES[crate] + "/") or not (owner := module_of(rel, crate, mods)):
            continue
        module, path = owner
        root = LIB_NAME.get(crate) if module == "main" else None
        for name, offset in mentions(code, path, root):
            if name in mods and name != module and (rel, name) not in found:
                found[(rel, name)] = (rel, line_of(code, offset), module, name)
    return sorted(found.values())


def cycles(mods, edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(b for a, b in edges if a == v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while not scc or scc[-1] != v:
                scc.append(stack.pop())
                on.discard(scc[-1])
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(mods):
        if v not in index:
            visit(v)
    return out


def module_graph(files):
    for crate in CRATES:
        mods = top_modules(files, crate)
        edges = {(a, b) for _, _, a, b in imports(files, crate, mods)}
        sccs = cycles(mods, edges)
        print(f"\nModule graph, {crate}: {len(mods)} top-level modules, {len(edges)} edges")
        for scc in sccs:
            inner = sorted(f"{a}->{b}" for a, b in edges if a in scc and b in scc)
            print(f"  cycle of {len(scc)}: {' '.join(scc)}")
            print(f"    edges: {', '.join(inner)}")
        print(f"  modules in cycles: {sum(map(len, sccs))} of {len(mods)}")


# --- layer check --------------------------------------------------------------

def read_layers():
    """({crate: {module: layer}}, {(crate, from, to): reason}) from docs/layers.txt."""
    layers, allowed = {}, {}
    for raw in LAYERS.read_text(encoding="utf-8").splitlines():
        line, _, comment = raw.partition("#")
        if m := re.fullmatch(r"\s*allow:\s*(\w+):\s*(\w+)\s*->\s*(\w+)\s*", line):
            allowed[m.groups()] = comment.strip()
        elif m := re.fullmatch(r"\s*(?!allow:)(\w+):(.*)", line):
            table = layers.setdefault(m.group(1), {})
            level = len(set(table.values()))
            table.update((mod, level) for mod in m.group(2).split())
    return layers, allowed


def check_layers(files):
    layers, allowed = read_layers()
    problems, debt, modules, checked = [], {}, 0, 0
    for crate in CRATES:
        mods, table = top_modules(files, crate), layers.get(crate, {})
        modules += len(mods)
        problems += [f"{crate}: module {m} is missing from {LAYERS.name}"
                     for m in sorted(mods - set(table))]
        problems += [f"{crate}: {LAYERS.name} names {m}, which is no module"
                     for m in sorted(set(table) - mods)]
        for rel, line, a, b in imports(files, crate, mods):
            checked += 1
            if a not in table or b not in table or table[b] <= table[a]:
                continue
            site = f"{rel}:{line}: {a} (layer {table[a]}) -> {b} (layer {table[b]})"
            if (crate, a, b) in allowed:
                debt.setdefault((crate, a, b), []).append(site)
            else:
                problems.append(f"upward import {site}")
    for key in sorted(allowed):
        if key not in debt:
            problems.append(f"allow: {key[0]}: {key[1]} -> {key[2]} no longer occurs; delete it")
    for (crate, a, b), sites in sorted(debt.items()):
        print(f"allowed (debt): {crate}: {a} -> {b}  # {allowed[(crate, a, b)]}")
        print("".join(f"    {site}\n" for site in sites), end="")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"layers: ok ({modules} modules, {checked} imports)")
    return 0


def main(args):
    files = load()
    if args == ["--check-layers"]:
        return check_layers(files)
    if args:
        print(__doc__)
        return 0 if args[0] in ("-h", "--help") else 2
    long_files(files)
    longest_components(files)
    runtime_sql(files)
    module_graph(files)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Fails when two modules of a crate import each other, directly or through others.

    infra/devstack/scripts/module-cycles.py CRATE_SRC_DIR...

Each `src/` file is a module (`a/b.rs` and `a/b/mod.rs` are `a::b`). An edge runs from a
module to every module it names through `crate::...` or `super::...` paths, test modules
(`#[cfg(test)] mod tests`) left out. Cycles are looked for twice: between files, and between
the crate's top-level modules (`auth` importing `ports` importing `auth` is a cycle even
when the files differ). Prints each cycle found; exit status 1 if any.
"""
import re
import sys
from pathlib import Path


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    """The code without its test module and its comments (doc links are not imports)."""
    m = re.search(r"#\[cfg\(test\)\]\s*mod tests\b", text)
    text = text[: m.start()] if m else text
    return re.sub(r"//[^\n]*", "", text)


def references(text: str, here: tuple, is_mod_file: bool, modules: set) -> set:
    found = set()
    for m in re.finditer(r"\b(crate|super)((?:::\w+)+)", text):
        segs = m.group(2).split("::")[1:]
        if m.group(1) == "crate":
            base = []
        else:
            # `super` of a mod.rs/lib.rs is its parent; of a plain file, its folder module.
            base = list(here[:-1]) if not is_mod_file else list(here[:-1])
            while segs and segs[0] == "super":
                segs = segs[1:]
                base = base[:-1]
        path = tuple(base + segs)
        # The longest prefix that is a module.
        while path and path not in modules:
            path = path[:-1]
        if path and path != here:
            found.add(path)
    return found


def cycles(edges: dict) -> list:
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    bad = 0
    for arg in sys.argv[1:]:
        src = Path(arg)
        files = sorted(src.rglob("*.rs"))
        modules = {module_of(src, f) for f in files}
        file_edges, top_edges = {}, {}
        for f in files:
            here = module_of(src, f)
            is_mod = f.name in ("mod.rs", "lib.rs", "main.rs")
            refs = references(strip_tests(f.read_text()), here, is_mod, modules)
            # A module naming its own submodules (declarations, re-exports) is not an import.
            refs = {r for r in refs if r[: len(here)] != here}
            file_edges[here] = refs
            if here:
                top = here[:1]
                top_edges.setdefault(top, set()).update(
                    r[:1] for r in refs if r[:1] != top and r
                )
        for kind, edges in (("files", file_edges), ("top-level modules", top_edges)):
            for comp in cycles(edges):
                bad += 1
                names = ", ".join("::".join(c) or "crate" for c in comp)
                print(f"{src}: import cycle between {kind}: {names}")
    if not bad:
        print(f"no import cycles in {len(sys.argv) - 1} crates")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

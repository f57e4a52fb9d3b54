#!/usr/bin/env python3
"""Checks the direction of dependencies between ustack's libraries.

The build already refuses most wrong-way includes (each library sees only
the include roots of what it depends on); this test also catches the ones
a relative path could sneak past, and any include of a system library a
layer must not use (DPDK outside drivers/dpdk, liburing outside
drivers/uring_tap).

usage: check_layering.py SOURCE_ROOT
"""
import pathlib
import re
import sys

ALLOWED = {
    "core": {"core"},
    "drivers": {"core", "drivers"},
    "proto": {"core", "proto"},
    "apps": {"core", "drivers", "proto", "apps"},
}
SYSTEM_ONLY_IN = {
    "rte_": "drivers/dpdk",
    "liburing": "drivers/uring_tap",
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    problems = []
    checked = 0
    for layer, allowed in ALLOWED.items():
        for path in sorted((root / layer).rglob("*")):
            if path.suffix not in (".h", ".cc") or "include" in path.relative_to(root).parts[1:2]:
                continue
            checked += 1
            rel = path.relative_to(root)
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, target = m.groups()
                where = f"{rel}:{lineno}: {line.strip()}"
                if kind == '"':
                    if ".." in target:
                        problems.append(f"{where}: relative include escapes the include roots")
                        continue
                    top = target.split("/")[0]
                    if top in ALLOWED and top not in allowed:
                        problems.append(f"{where}: {layer}/ must not include {top}/")
                    elif top not in ALLOWED and "/" not in target:
                        problems.append(f"{where}: include project headers by path, e.g. \"{layer}/...\"")
                else:
                    for prefix, home in SYSTEM_ONLY_IN.items():
                        if target.startswith(prefix) and not str(rel).startswith(home):
                            problems.append(f"{where}: <{target}> belongs in {home}/ only")
    for p in problems:
        print(p)
    print(f"layering: {checked} files checked, {len(problems)} problems")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

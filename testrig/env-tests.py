#!/usr/bin/env python3
"""Lists the environment-bound tests a suite must run.

Such a test is marked `#[ignore = "needs <environment>: run by <suite>"]`
(crates/nvmx/tests/common/env.rs). Given phrases of those reasons, this
prints one line per test target that holds matching tests:

    <package> <target> <test name> [<test name>...]

<target> is `lib` for unit tests in src/, else the integration test
binary's name; the names are full test paths for `--exact`. The suites
(testrig/host-env-tests.sh, testrig/vm/guest-suite.sh,
testrig/wine/windows-suite.sh) run them with `--ignored --exact` and check
that every one of them ran.

    testrig/env-tests.py 'needs root and loop devices' ['needs ...' ...]
"""
import pathlib
import re
import sys

IGNORE = re.compile(r'#\[ignore\s*=\s*"([^"]*)"\]')
FN = re.compile(r"^\s*(?:pub\s+)?fn\s+(\w+)")


def module_path(crate: pathlib.Path, path: pathlib.Path):
    """(target, module prefix) of a source file of `crate`."""
    rel = path.relative_to(crate)
    parts = list(rel.parts)
    if parts[0] == "src":
        mods = parts[1:]
        target = "lib"
    else:  # tests/
        mods = parts[1:]
        if len(mods) == 1:  # tests/<bin>.rs
            return mods[0][:-3], []
        target = mods[0]  # tests/<bin>/<mod>.rs
        mods = mods[1:]
    last = mods[-1][:-3]
    mods = mods[:-1] + ([] if last in ("lib", "main", "mod") else [last])
    return target, mods


def main(phrases):
    root = pathlib.Path(__file__).resolve().parent.parent
    found = {}
    for crate in sorted((root / "crates").iterdir()):
        for sub in ("src", "tests"):
            for path in sorted((crate / sub).rglob("*.rs")):
                if "common" in path.relative_to(crate).parts:
                    continue
                lines = path.read_text().splitlines()
                target, mods = module_path(crate, path)
                for i, line in enumerate(lines):
                    m = IGNORE.search(line)
                    if not m or not any(p in m.group(1) for p in phrases):
                        continue
                    name = next(
                        (f.group(1) for f in map(FN.match, lines[i + 1 : i + 6]) if f), None
                    )
                    if name is None:
                        sys.exit(f"{path}:{i + 1}: no fn after the ignore attribute")
                    # Unit tests sit in an inline `mod tests` unless the
                    # file itself is the tests module.
                    inner = (
                        ["tests"]
                        if sub == "src" and (not mods or mods[-1] != "tests")
                        and any(re.match(r"\s*mod tests\s*\{", l) for l in lines[:i])
                        else []
                    )
                    found.setdefault((crate.name, target), []).append(
                        "::".join(mods + inner + [name])
                    )
    for (package, target), names in sorted(found.items()):
        print(package, target, *names)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])

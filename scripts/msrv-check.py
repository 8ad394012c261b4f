#!/usr/bin/env python3
"""Checks that each library crate's declared `rust-version` is honest.

For every workspace member with a library target, takes the packages its
library builds with all features (normal and build dependencies, never
dev-dependencies, every target platform) from Cargo.lock and the highest
`rust-version` they declare. A library whose tree needs a newer Rust than it
declares fails the check, naming the package, the version it needs and the
path that pulls it in. Nothing is compiled and no toolchain is downloaded:
`cargo metadata --locked` gives every package's declared `rust-version`, and
`cargo tree --locked` gives the packages each library really builds.
(`cargo metadata`'s resolve graph alone would do, but it unifies the features
dev-dependencies enable into the normal ones, e.g. tokio's `full`, so it adds
packages a library user never builds.)

Tests, examples and benches (dev-dependencies, e.g. rmcp) may need a newer
Rust than the libraries: that is reported on its own line and never fails,
since a library user does not build them.

Usage: scripts/msrv-check.py
Exit status: 0 honest, 1 a library's tree needs more than it declares, 2 error.
"""

import json
import subprocess
import sys

LIBRARY_EDGES = "normal,build"
ALL_EDGES = "normal,build,dev"


def version_key(version):
    """`1.88` and `1.88.0` compare equal; a missing patch counts as 0."""
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def cargo(*args):
    command = ["cargo", *args]
    result = subprocess.run(command, check=False, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        print(f"msrv-check: `{' '.join(command)}` failed (see above)", file=sys.stderr)
        sys.exit(2)
    return result.stdout


def tree(member, edges):
    """Each package `member` builds over `edges`, with the chain of packages
    (`name version` strings, from `member`) that first reaches it."""
    output = cargo(
        "tree", "--locked", "--package", member, "--edges", edges, "--all-features",
        "--target", "all", "--prefix", "depth", "--format", "{p}",
    )
    chains, stack = {}, []
    for line in output.splitlines():
        digits = len(line) - len(line.lstrip("0123456789"))
        if not digits:
            continue
        depth = int(line[:digits])
        name, version = line[digits:].split()[:2]
        package = (name, version.removeprefix("v"))
        del stack[depth:]
        stack.append(package)
        chains.setdefault(package, list(stack))
    return chains


def highest(chains, rust_versions, members):
    """The (rust-version, chain) of the dependency (not a workspace member: those
    are checked on their own) needing the newest Rust."""
    needs = [
        (rust_versions[p], chain)
        for p, chain in chains.items()
        if p not in members and rust_versions.get(p)
    ]
    return max(needs, key=lambda need: version_key(need[0]), default=None)


def shown(chain):
    return " -> ".join(f"{name} {version}" for name, version in chain)


def check(member, declared, rust_versions, members):
    """Prints the member's result; False if its library tree needs more than declared."""
    need = highest(tree(member, LIBRARY_EDGES), rust_versions, members)
    honest = need is None or version_key(need[0]) <= version_key(declared)
    if honest:
        print(f"msrv-check: ok   {member}: declares {declared}, its dependencies need "
              f"{f'{need[0]} ({shown(need[1][-1:])})' if need else 'no declared version'}")
    else:
        print(f"msrv-check: FAIL {member} declares rust-version {declared}, but "
              f"{shown(need[1][-1:])} needs Rust {need[0]}: {shown(need[1])}")
    dev_need = highest(tree(member, ALL_EDGES), rust_versions, members)
    if dev_need and (need is None or version_key(dev_need[0]) > version_key(need[0])):
        beyond = version_key(dev_need[0]) > version_key(declared)
        print(f"msrv-check: note {member}'s tests, examples and benches need Rust {dev_need[0]} "
              f"({shown(dev_need[1])})"
              + ("; more than it declares, not a failure: library users do not build them"
                 if beyond else ""))
    return honest


def main():
    metadata = json.loads(cargo("metadata", "--format-version", "1", "--locked"))
    packages = metadata["packages"]
    rust_versions = {}
    for package in packages:
        key = (package["name"], package["version"])
        if package["rust_version"] and (
            key not in rust_versions
            or version_key(package["rust_version"]) > version_key(rust_versions[key])
        ):
            rust_versions[key] = package["rust_version"]
    member_ids = set(metadata["workspace_members"])
    members = {(p["name"], p["version"]) for p in packages if p["id"] in member_ids}
    libraries = sorted(
        (package["name"], package["rust_version"])
        for package in packages
        if package["id"] in member_ids and any("lib" in t["kind"] for t in package["targets"])
    )
    honest = True
    for member, declared in libraries:
        if declared is None:
            print(f"msrv-check: FAIL {member} declares no rust-version")
            honest = False
        elif not check(member, declared, rust_versions, members):
            honest = False
    if not honest:
        print("msrv-check: raise the rust-version in Cargo.toml ([workspace.package]) to what "
              "the library tree needs, or hold the dependency back", file=sys.stderr)
    return 0 if honest else 1


if __name__ == "__main__":
    if len(sys.argv) != 1:
        sys.exit(__doc__.split("Usage:", 1)[1].strip())
    sys.exit(main())

#!/usr/bin/env python3
"""Splits what a guard stack adds over its bare handler into its checks and
the composition around them, from the callgrind dumps
`GUARD_INSTRUCTIONS_DUMPS=<dir> scripts/guard-instructions.sh` keeps:

    scripts/guard-breakdown.py <guarded.callgrind> <bare.callgrind>

"Checks" are the inclusive instructions of the functions that decide (the
envelope parse, the origin check, the protocol guard's header and envelope
checks, bearer auth's decision with its token cache, the rate limiter's
cell, the session's lookup and after-answer step); "composition" is the
rest of what the stack adds: the nested services and futures, the moves of
requests, responses and futures between them, the body wrappers, the
extension boxes. Per request: the bench sends 2 200 requests (200 warm-up,
2 000 counted) in each run, as scripts/guard-instructions.sh counts them.
"""

import re
import subprocess
import sys

REQUESTS = 2200

# What decides, by guard: inclusive costs (a function listed calls no other
# one listed, so none is counted twice).
CHECKS = {
    "envelope parse": ["mcp_guard_core::envelope::RpcEnvelope::parse_shared"],
    "origin guard": ["mcp_origin_guard::check::Guard::check"],
    "protocol guard": [
        "mcp_protocol_guard::check::Config::check_headers",
        "mcp_protocol_guard::check::Config::check_envelope",
    ],
    "bearer auth": ["mcp_bearer_auth::guard::Guard<V>::decide"],
    "rate limit": ["mcp_rate_limit::limits::Limits::check_caller"],
    "session": [
        "mcp_session::service::Shared<St>::decide",
        "mcp_session::service::Shared<St>::after",
    ],
}

LINE = re.compile(r"\s*([\d,]+)\s+\([^)]*\)\s+(?:\S+?:)?(.*?)(?: \[[^\]]*\])?$")


def inclusive(path):
    """Inclusive instructions by function name, and the program's total."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--auto=no", "--threshold=100", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    costs, total = {}, None
    for line in out.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        count, name = int(match.group(1).replace(",", "")), match.group(2).strip()
        if name == "PROGRAM TOTALS":
            total = count
        else:
            # One function can appear under several source files (inlined
            # code); its own entry is the largest.
            costs[name] = max(costs.get(name, 0), count)
    if total is None:
        sys.exit(f"guard-breakdown.py: no totals in {path}")
    return costs, total


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    guarded, guarded_total = inclusive(sys.argv[1])
    _, bare_total = inclusive(sys.argv[2])
    over = (guarded_total - bare_total) / REQUESTS
    print("| part | instructions per request | share |\n|---|---:|---:|")
    checks = 0.0
    for guard, functions in CHECKS.items():
        cost = sum(guarded.get(function, 0) for function in functions) / REQUESTS
        if cost >= 10:
            checks += cost
            print(f"| {guard} | {cost:,.0f} | {cost / over:.0%} |")
    print(f"| **checks** | **{checks:,.0f}** | **{checks / over:.0%}** |")
    print(f"| **composition** (the rest) | **{over - checks:,.0f}** | **{(over - checks) / over:.0%}** |")
    print(f"| over the bare handler | {over:,.0f} | 100% |")


if __name__ == "__main__":
    main()

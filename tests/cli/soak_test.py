#!/usr/bin/env python3
"""ustack bench --mode soak for a minute (issue #10): bulk transfers and
connection churn (some aborted with RST) at once over memlink with loss,
reordering, duplication and corruption. The command itself checks every
byte and, after draining, that both stacks are back to their idle baseline
(no open connection, every mbuf back) and that resident memory did not grow
after the warm-up; this test reads its JSON and checks the run did real
work under every fault.

usage: soak_test.py USTACK_BINARY [SECONDS]
"""
import json
import os
import sys

USTACK = os.path.abspath(sys.argv[1])
SECONDS = sys.argv[2] if len(sys.argv) > 2 else "60"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import case, expect, finish, run, usage_error  # noqa: E402


@case("soak options are checked")
def _():
    usage_error(USTACK, ["bench", "--mode", "soak", "--churn", "x"], "--churn")
    usage_error(USTACK, ["bench", "--mode", "soak", "--report", "0"], "--report")


@case(f"soak for {SECONDS} s on one core with every fault")
def _():
    r = run([USTACK, "bench", "--mode", "soak", "--seconds", SECONDS, "--cores", "0",
             "--json"], timeout=float(SECONDS) + 120)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    expect(r.returncode == 0, f"exit {r.returncode}: {r.stdout}{r.stderr}")
    expect(len(lines) == 1, f"no JSON result: {r.stdout}{r.stderr}")
    res = json.loads(lines[-1])
    print(json.dumps(res))
    expect(res["ok"] and res["settled"], f"not back to baseline: {res}")
    expect(res["errors"] == 0 and res["corrupt"] == 0, f"failures: {res}")
    for k in ("bulk_conns_done", "churn_conns_done", "aborted", "lost", "duplicated",
              "corrupted", "reordered"):
        expect(res[k] > 0, f"{k} is 0: the run did not exercise it: {res}")
    expect(res["rss_end_mib"] - res["rss_warm_mib"] <= 8, f"resident memory grew: {res}")


finish()

"""Prints how long agentrt takes from exec to answering /health, over many starts, and its
resident memory when idle. Figures only, never pass/fail thresholds (shared, noisy machine); it
fails only when a start fails. Several binaries (e.g. the normal and the portable build) are
started in turn, so machine load affects them alike.

    startup_figures.py [--runs N] AGENTRT_BINARY...
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Runtime, fail, get_health, rss_kib  # noqa: E402


def label(binary):
    # build/runtime/agentrt -> "build": the build directory tells the variants apart
    return os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(binary))))


def main():
    args = sys.argv[1:]
    runs = 20
    if len(args) >= 2 and args[0] == "--runs":
        runs, args = int(args[1]), args[2:]
    if not args:
        fail(__doc__)
    times = {b: [] for b in args}
    rss = {b: [] for b in args}
    for i in range(runs):
        for binary in args:
            with Runtime([binary]) as rt:
                times[binary].append(rt.started_in * 1000)
                health = get_health(rt.port)
                if not health or health.get("status") != "ok":
                    fail(f"{binary} run {i}: /health answered {health}")
                if i < 5:  # idle: start-up has settled, no session open
                    time.sleep(0.3)
                    rss[binary].append(rss_kib(rt.proc.pid))
                if rt.stop() != 0:
                    fail(f"{binary} run {i}: agentrt did not exit 0 on SIGTERM")
    for binary in args:
        t = sorted(times[binary])
        p90 = t[min(len(t) - 1, int(len(t) * 0.9))]
        print(f"[ figures  ] {label(binary)}: exec -> /health over {runs} starts: median "
              f"{statistics.median(t):.1f} ms, min {t[0]:.1f} ms, p90 {p90:.1f} ms; idle RSS "
              f"{statistics.median(rss[binary]):.0f} KiB; file {os.path.getsize(binary) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()

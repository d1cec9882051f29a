"""Prints how long agentrt takes from exec to answering /health, over many starts, and its
resident memory when idle; the normal and the portable build each print their own. Figures
only, never pass/fail thresholds (shared, noisy machine); it fails only when a start fails.

    startup_figures.py AGENTRT_BINARY [RUNS]
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agentrt_fixture import Runtime, fail, get_health, rss_kib  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        fail(__doc__)
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 20
    times, rss = [], []
    for i in range(runs):
        with Runtime([binary]) as rt:
            times.append(rt.started_in * 1000)
            health = get_health(rt.port)
            if not health or health.get("status") != "ok":
                fail(f"run {i}: /health answered {health}")
            if i < 5:  # idle RSS: after start-up has settled, no session open
                time.sleep(0.3)
                rss.append(rss_kib(rt.proc.pid))
            if rt.stop() != 0:
                fail(f"run {i}: agentrt did not exit 0 on SIGTERM")
    times.sort()
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    size = os.path.getsize(binary) / 1e6
    print(f"[ figures  ] {os.path.basename(os.path.dirname(os.path.dirname(binary)))}: "
          f"exec -> /health over {runs} starts: median {statistics.median(times):.1f} ms, "
          f"min {times[0]:.1f} ms, p90 {p90:.1f} ms; idle RSS {statistics.median(rss):.0f} KiB; "
          f"binary {size:.1f} MB (unstripped)")


if __name__ == "__main__":
    main()

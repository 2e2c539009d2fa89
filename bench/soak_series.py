"""A soak's RSS series (TASKAPI_SOAK_RSS_FILE): each worker's growth and trend, and a table by minute.

`python -m bench.soak_series soak-rss.json` prints, for each worker, its RSS at minute 5 and at the end
(medians of the samples in the minute around each), the growth between them, and the least-squares
slope of its last 10 minutes and of everything after the warm-up; then a Markdown table of each
worker's median RSS per minute. See docs/performance.md, "Memory".
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.soak import slope_mib_per_minute  # noqa: E402


def around(samples, second, half_width=30):
    """The median RSS (MiB) of the samples within `half_width` seconds of `second`, or None."""
    values = [kib / 1024 for t, kib in samples if abs(t - second) <= half_width]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--from-minute", type=float, default=5)
    options = parser.parse_args()
    data = json.loads(Path(options.file).read_text())
    end = data["seconds"]
    print(f"soak of {end} s; worker {data['killed']} killed; survivors {data.get('survivors', [])}")
    rows = {}
    for pid, samples in data["series"].items():
        first = samples[0][0]
        role = ("killed" if int(pid) == data["killed"] else
                "survivor" if int(pid) in data.get("survivors", []) else "replacement")
        start = around(samples, first + options.from_minute * 60)
        last = around(samples, samples[-1][0] - 30)
        growth = None if start is None or last is None else (last - start) * 100 / start
        tail = slope_mib_per_minute(samples, after=samples[-1][0] - 600)
        whole = slope_mib_per_minute(samples, after=first + data["warmup"])
        highest = max(kib for _, kib in samples) / 1024
        print(f"{pid} ({role}, from {first:.0f} s): minute {options.from_minute:g} "
              f"{'-' if start is None else f'{start:.1f}'} MiB, end {'-' if last is None else f'{last:.1f}'} MiB, "
              f"growth {'-' if growth is None else f'{growth:+.1f} %'}, slope last 10 min "
              f"{'-' if tail is None else f'{tail:+.3f}'} MiB/min, after warm-up "
              f"{'-' if whole is None else f'{whole:+.3f}'} MiB/min, highest {highest:.1f} MiB")
        rows[pid] = {minute: around(samples, minute * 60 + 30) for minute in range(int(end // 60) + 1)}
    pids = list(rows)
    print("\n| minute | " + " | ".join(pids) + " |\n|---:|" + "---:|" * len(pids))
    for minute in range(int(end // 60) + 1):
        cells = [rows[pid][minute] for pid in pids]
        print(f"| {minute} | " + " | ".join("" if c is None else f"{c:.1f}" for c in cells) + " |")


if __name__ == "__main__":
    main()

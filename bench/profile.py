"""py-spy under load: record a worker while wrk drives one case, then rank functions by inclusive and own time."""

import argparse
import collections
import subprocess
import sys
from pathlib import Path


def record(pid, seconds, out_path, rate=200):
    """Sample worker `pid` for `seconds` with py-spy into collapsed stacks (py-spy's raw format)."""
    py_spy = str(Path(sys.executable).parent / "py-spy")
    subprocess.run([py_spy, "record", "-p", str(pid), "-d", str(seconds), "-r", str(rate), "-f", "raw",
                    "-o", str(out_path), "--nonblocking"], check=True, capture_output=True)


def _frame_name(frame):
    """'function (path/to/file.py:line)' → 'function (package/file.py)': lines merged, paths shortened."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    short = path.split("site-packages/")[-1].split("/main/")[-1]
    return f"{name} ({short})"


def rank(collapsed_path, top=30, idle=("select (selectors.py)", "wait (gunicorn/workers/sync.py)")):
    """Functions by share of busy samples, inclusive (anywhere on the stack) and own (top of the stack)."""
    inclusive, own = collections.Counter(), collections.Counter()
    busy = 0
    for line in Path(collapsed_path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():  # py-spy wraps a very deep stack over several lines: skip the pieces
            continue
        frames = [_frame_name(frame) for frame in stack.split(";") if frame]
        if not frames or any(marker in frames[-1] for marker in idle):
            continue
        samples = int(count)
        busy += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    lines = [f"busy samples: {busy}", "", "inclusive %  function"]
    lines += [f"{100 * n / busy:10.1f}  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "own %  function"]
    lines += [f"{100 * n / busy:5.1f}  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("collapsed", help="py-spy raw output")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    print(rank(args.collapsed, args.top))


if __name__ == "__main__":
    main()

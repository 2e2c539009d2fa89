"""wrk: checked for at start, driven with a generated Lua script per case, its summary read as JSON."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "wrk is missing: install the Debian package with `apt-get install -y wrk` (as root)"

# wrk's done() hook: one JSON line with the numbers the report needs.
REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d, '
    .. '"socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def require_wrk():
    """The wrk binary: installed with apt-get when missing and run as root, else exit saying how to get it."""
    path = shutil.which("wrk")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get update, apt-get install -y wrk", file=sys.stderr, flush=True)
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "wrk"]):
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


def lua_string(text):
    return json.dumps(text)  # a JSON string is a valid Lua string literal for ASCII text


def request_lua(method, path, headers, body=None, rotate_paths=None, counter_body=None):
    """A wrk script: fixed request, or one whose path and body change per request (wrk cannot read answers)."""
    lines = [f"wrk.method = {lua_string(method)}", f"wrk.path = {lua_string(path)}"]
    lines += [f"wrk.headers[{lua_string(name)}] = {lua_string(value)}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    if rotate_paths or counter_body:
        paths = ", ".join(lua_string(p) for p in (rotate_paths or [path]))
        lines.append(f"local paths = {{{paths}}}")
        lines.append("local n = 0")
        lines.append("request = function()")
        lines.append("  n = n + 1")
        body_expr = f"string.format({lua_string(counter_body)}, n)" if counter_body else "wrk.body"
        lines.append(f"  return wrk.format(nil, paths[(n % #paths) + 1], nil, {body_expr})")
        lines.append("end")
    return "\n".join(lines) + "\n" + REPORT_LUA


@dataclass
class Result:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_ms_per_request: float = 0.0  # filled in by the caller, which knows the server's processes


def run(url, script_text, script_path, seconds, connections, core, threads=1):
    """One wrk run pinned to `core`; the numbers from its done() line."""
    Path(script_path).write_text(script_text)
    command = ["taskset", "-c", core, require_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
               "--timeout", "10s", "-s", str(script_path), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    data = json.loads(line[len("WRK_JSON "):])
    seconds_run = data["duration_us"] / 1e6
    return Result(data["requests"], data["requests"] / seconds_run, data["p50_us"] / 1000, data["p99_us"] / 1000,
                  data["non_2xx"], data["socket_errors"])

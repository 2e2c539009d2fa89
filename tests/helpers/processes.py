"""Child processes of the tests (servers): stopped politely, then for good."""

import subprocess


def stop(process, timeout=30):
    """SIGTERM, then SIGKILL if the process has not ended within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

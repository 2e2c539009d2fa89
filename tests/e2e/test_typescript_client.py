"""A TypeScript client typed from the served /openapi.json type-checks (tsc --strict) and runs its journey.

tests/client pins openapi-typescript, openapi-fetch and typescript (package-lock.json); `npm ci`
installs them when node_modules is missing or older than the lock. The types are generated from
the live server's document, never from a copy, so the test fails when the document stops making
a clean client.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[1] / "client"
# tsc's options for the journey: strict, ES modules, and the DOM's fetch types openapi-fetch uses.
TSC_OPTIONS = ["--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler",
               "--lib", "es2022,dom", "--skipLibCheck", "false"]
# Printed with a failure: what the document made of the types a frontend leans on most.
# (where the declaration is in the generated file, its indentation, its name)
SHOWN_TYPES = [("\n    schemas: {", 8, "Task"), ("\n    schemas: {", 8, "Error"), ("\n    schemas: {", 8, "ErrorCode"),
               ("\nexport interface operations {", 4, "login")]


def _run(command, cwd, timeout=300):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def node_modules():
    if shutil.which("npm") is None or shutil.which("node") is None:
        if os.environ.get("CI"):  # .ci/run installs them: a CI run without them would prove nothing
            pytest.fail("node and npm are missing under CI")
        pytest.skip("node and npm are needed for the TypeScript client test (Node 20+)")
    installed = CLIENT / "node_modules" / ".package-lock.json"
    lock = CLIENT / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        # --prefer-offline: npm's cache serves when it holds these versions.
        _run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], CLIENT)
    return CLIENT / "node_modules"


def declaration(types, after, indent, name):
    """One declaration of an openapi-typescript file (`Task` of `components.schemas`), as written."""
    section = types[types.index(after):]
    match = re.search(rf"^ {{{indent}}}{name}: .*$", section, re.MULTILINE)
    assert match, f"{name} is not in the generated types"
    if not match.group().endswith("{"):
        return match.group().strip()
    closing = "\n" + " " * indent + "};"
    return section[match.start():section.index(closing, match.end()) + len(closing)]


def test_a_client_typed_from_the_served_document_type_checks_and_runs(server, node_modules, tmp_path):
    # The journey and its types in one directory; node_modules is the pinned one.
    shutil.copy(CLIENT / "journey.ts", tmp_path / "journey.ts")
    (tmp_path / "package.json").write_text('{"type": "module"}\n')
    os.symlink(node_modules, tmp_path / "node_modules")

    _run(["npx", "--no", "openapi-typescript", f"{server.url}/openapi.json", "-o", str(tmp_path / "schema.d.ts")],
         CLIENT)
    types = (tmp_path / "schema.d.ts").read_text()
    print("\n\n".join(declaration(types, *where) for where in SHOWN_TYPES))

    tsc = str(node_modules / ".bin" / "tsc")
    _run([tsc, *TSC_OPTIONS, "--noEmit", "journey.ts"], tmp_path)
    _run([tsc, *TSC_OPTIONS, "--outDir", "out", "journey.ts"], tmp_path)
    out = _run(["node", "out/journey.js", server.url], tmp_path, timeout=60)
    assert out.startswith("journey ok"), out

"""Every code block of README.md runs as shown.

* ```` ```python ```` blocks run in order in one namespace, as a reader pasting them one after
  the other into one interpreter would (the inference block uses the network of the v2
  script above it), in a temporary working directory.
* ```` ```bash ```` blocks run with ``bash -e`` in a temporary directory that holds a link to
  the repository's ``examples/``, with this interpreter first on ``PATH``.
* A block right after a line ``<!-- no-test: reason -->`` is skipped: installs, downloads,
  MPI launches, placeholders for the reader's own program, and runs of minutes. The reason
  is required.

Other fences (```` ``` ```` alone, tables) are not code and are not run.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
NO_TEST = re.compile(r"<!--\s*no-test:\s*(.*?)\s*-->\s*$")


def blocks(text):
    """[(language, code, line number, skip reason or None)] of the fenced blocks."""
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").splitlines()
        marker = NO_TEST.search(before[-1]) if before else None
        line = text.count("\n", 0, match.start()) + 1
        found.append((match.group(1), match.group(2), line,
                      marker.group(1) if marker else None))
    return found


def test_no_test_markers_give_a_reason_and_sit_right_before_a_block():
    text = README.read_text()
    reasons = [reason for _, _, _, reason in blocks(text) if reason is not None]
    assert all(reason.strip() for reason in reasons), "a no-test marker without a reason"
    assert len(reasons) == text.count("<!-- no-test:"), \
        "a no-test marker that is not on the line right before a code block"


def test_python_blocks_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    ran = 0
    for language, code, line, reason in blocks(README.read_text()):
        if language != "python" or reason is not None:
            continue
        try:
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - report which block failed
            pytest.fail(f"the python block at README.md:{line} failed: "
                        f"{type(error).__name__}: {error}")
        ran += 1
    assert ran >= 3


def test_bash_blocks_run(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    ran = 0
    for language, code, line, reason in blocks(README.read_text()):
        if language not in ("bash", "sh", "shell") or reason is not None:
            continue
        result = subprocess.run(["bash", "-e", "-c", code], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (f"the bash block at README.md:{line} failed:\n"
                                        f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        ran += 1
    assert ran >= 1

"""Process exit with the background worker busy: no abort, nothing acknowledged lost."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from memoryos_core import Memoryos

ADDS_WITHOUT_CLOSE = """
import sys
from memoryos_core import Memoryos
m = Memoryos(user_id="a", data_storage_path=sys.argv[1])
for i in range(200):
    m.add_memory(f"Message {i} about topic {i % 9}", "ok")
{after}
"""

ADDS_FOREVER = """
import sys
from memoryos_core import Memoryos
m = Memoryos(user_id="a", data_storage_path=sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    m.add_memory(f"Message {i} about topic {i % 9} with a few more words to embed", "ok")
    i += 1
"""


def _run(script: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, str(data)], capture_output=True, text=True, timeout=240)


def _pages(data: Path) -> int:
    memory = Memoryos(user_id="a", data_storage_path=data, background=False)
    try:
        return len(memory.list_memories(limit=10_000))
    finally:
        memory.close()


def test_script_that_never_closes_exits_cleanly_and_keeps_every_page(tmp_path: Path) -> None:
    for attempt in range(2):  # the abort was a race: it showed in 3 of 3 runs before the fix
        data = tmp_path / f"run{attempt}"
        done = _run(ADDS_WITHOUT_CLOSE.replace("{after}", ""), data)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "terminate called" not in done.stderr
        assert _pages(data) == 200


def test_close_without_flush_or_with_short_timeout_exits_cleanly(tmp_path: Path) -> None:
    for after in ("m.close(flush=False)", "m.close(timeout=1)"):
        data = tmp_path / after.replace("=", "").replace("(", "").replace(")", "").replace(".", "")
        done = _run(ADDS_WITHOUT_CLOSE.replace("{after}", after), data)
        assert done.returncode == 0, done.stderr[-2000:]
        assert _pages(data) == 200


def test_ctrl_c_ends_like_an_interrupted_python_program(tmp_path: Path) -> None:
    data = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-c", ADDS_FOREVER, str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(2.0)  # let the worker get busy embedding and consolidating
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    # Python's own convention for an uncaught KeyboardInterrupt: it dies of SIGINT (shell: 130).
    assert proc.returncode == -signal.SIGINT, err[-2000:]
    assert "terminate called" not in err and "Aborted" not in err
    assert _pages(data) > 0  # what was acknowledged is there, and the store opens


def test_nothing_is_written_outside_the_data_folder(tmp_path: Path) -> None:
    """onnxruntime's device id under ~/.cache and tiktoken's cache under $TMPDIR stay unwritten."""
    home, tmp, data = tmp_path / "home", tmp_path / "tmp", tmp_path / "data"
    home.mkdir()
    tmp.mkdir()
    script = ("import sys\nfrom memoryos_core import Memoryos\n"
              "m = Memoryos(user_id='a', data_storage_path=sys.argv[1], background=False)\n"
              "m.add_memory('I live in Porto', 'Nice city')\nprint(m.retrieve('where do I live').context_tokens)\n"
              "m.close()\n")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)}
    done = subprocess.run([sys.executable, "-c", script, str(data)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(home.rglob("*")) == []
    assert list(tmp.rglob("*")) == []
    assert any(data.iterdir())

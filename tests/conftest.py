"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:  # tests/ may or may not be a package
    from .scripted_openai import ScriptedOpenAI
except ImportError:
    from scripted_openai import ScriptedOpenAI

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs offline: a key or endpoint in the caller's environment must never be used."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MEMORYOS_LOCOMO"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def scripted_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOpenAI]:
    """A started scripted OpenAI-compatible server on 127.0.0.1; stopped after the test."""
    for name in _PROXY_VARS:  # a proxy from the environment must never see test traffic
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = ScriptedOpenAI(max_lifetime=120.0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def run_notebook(tmp_path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Execute a notebook offline on this interpreter (a kernelspec of our own pointing at
    sys.executable, whatever "python3" means on the machine); returns its stream output."""
    import json
    import sys

    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")
    kernel = "memoryos-test-python"
    kernelspec.install(kernel_name=kernel, prefix=str(tmp_path / "jupyter"))
    spec = json.loads((tmp_path / "jupyter" / "share" / "jupyter" / "kernels" / kernel / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def run(path):  # type: ignore[no-untyped-def]
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(nb, kernel_name=kernel, timeout=240,
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()  # raises CellExecutionError on the first failing cell
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"]
        return "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")

    return run

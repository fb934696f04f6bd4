"""The LlamaIndex quickstart notebook executes cleanly, offline, on this interpreter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "llamaindex_quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs_offline(run_notebook, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    # the kernel imports this checkout even where the package is not installed in editable mode
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    out = run_notebook(NOTEBOOK)  # conftest: own kernelspec on sys.executable, no API key; fails on any error

    remembered = "From memory: My cat is called Miso and she is scared of the vacuum cleaner."
    assert out.count(remembered) >= 3  # chat engine, new session, agent
    assert "user: <memory> | [MemoryOS] Reference data" in out  # the prompt: a user-role memory block
    assert "## Relevant past conversation" in out
    assert "[tools used]\n- todays_weather() -> Sunny, 24 degrees." in out
    assert "mid_term" in out or "short_term" in out

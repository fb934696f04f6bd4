"""The LlamaIndex quickstart notebook executes cleanly, offline, on this interpreter."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "llamaindex_quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")

    # A kernelspec of our own whose argv is this very interpreter: CI machines' "python3" kernels
    # may point at another Python (or none).
    kernel_name = "memoryos-llamaindex-test"
    kernelspec.install(kernel_name=kernel_name, prefix=str(tmp_path / "jupyter"))
    spec_dir = tmp_path / "jupyter" / "share" / "jupyter" / "kernels" / kernel_name
    assert json.loads((spec_dir / "kernel.json").read_text())["argv"][0] == sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    workdir = tmp_path / "work"
    workdir.mkdir()
    nbclient.NotebookClient(nb, kernel_name=kernel_name, timeout=180,
                            resources={"metadata": {"path": str(workdir)}}).execute()

    outputs = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out.output_type != "error", out
            outputs.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    text = "\n".join(outputs)
    remembered = "From memory: My cat is called Miso and she is scared of the vacuum cleaner."
    assert text.count(remembered) >= 3  # chat engine, new session, agent (and its stored page)
    assert "user: <memory>" in text and "todays_weather" in text and "relevant" in text

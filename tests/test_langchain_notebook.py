"""notebooks/langchain_quickstart.ipynb runs top to bottom, offline, on this interpreter."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "langchain_quickstart.ipynb"
KERNEL = "memoryos-test-python"


@pytest.mark.slow
def test_quickstart_notebook_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")

    # A kernelspec of our own, pointing at this very interpreter: whatever "python3" means on the
    # machine (another Python, a user-level kernel), the notebook runs with the test environment.
    kernelspec.install(kernel_name=KERNEL, prefix=str(tmp_path / "jupyter"))
    spec = json.loads((tmp_path / "jupyter" / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=240,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first failing cell

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code_cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = "\n".join(o.get("text", "") for c in code_cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "ANSWER: Mirela studies marine life in Valparaiso." in text
    assert "ANSWER: Trail mix without peanuts: almonds and cashews." in text
    assert "allergic to peanuts" in text  # the memory note the agent's model received
    assert "Carol, your orchestra concert is on Saturday." in text

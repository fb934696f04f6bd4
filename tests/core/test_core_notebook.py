"""notebooks/core_quickstart.ipynb runs top to bottom, offline, on this interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "core_quickstart.ipynb"


@pytest.mark.slow
def test_core_notebook_executes(run_notebook) -> None:  # type: ignore[no-untyped-def]
    text = run_notebook(NOTEBOOK)
    assert "What is the name of my cat? -> User: I have a cat named Pixel." in text
    assert "location: Ghent" in text
    assert "User works as a pharmacist." in text
    assert "## Profile of Nora" in text  # the profile's name names the person

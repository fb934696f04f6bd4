"""notebooks/langchain_quickstart.ipynb runs top to bottom, offline, on this interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "langchain_quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_executes(run_notebook) -> None:  # type: ignore[no-untyped-def]
    text = run_notebook(NOTEBOOK)
    assert "[friday] ANSWER: From memory: The user is vegetarian and training for a marathon." in text
    assert "namespaces: [('memories', 'dana')]" in text
    assert "dana's memory holds it too: ['The user is vegetarian and training for a marathon.']" in text
    assert "ANSWER: Mirela studies marine life in Valparaiso." in text
    assert "ANSWER: Trail mix without peanuts: almonds and cashews." in text
    assert "allergic to peanuts" in text  # the memory note the agent's model received
    assert "Carol, your orchestra concert is on Saturday." in text

"""The lexical (BM25) index follows the page vector index (``memoryos_core.retrieval.lexical``)."""

from __future__ import annotations

from pathlib import Path

from retrieval_support import DAY, T0, chat, make


def test_lexical_index_follows_adds_updates_and_deletes(tmp_path: Path) -> None:
    memory = make(tmp_path)
    page = memory.add_memory("I adopted a beagle called Zorblax.", "What a name!", timestamp=T0)
    chat(memory, 30, T0 + 600)
    assert "Zorblax" in memory.retrieve("Zorblax", max_context_tokens=300).context
    memory.update(page.id, user_input="I adopted a beagle called Quimby.")
    context = memory.retrieve("Quimby beagle", max_context_tokens=300).context
    assert "Quimby" in context and "Zorblax" not in context
    memory.delete(page.id)
    assert "Quimby" not in memory.retrieve("Quimby beagle", max_context_tokens=300).context
    memory.add_memory("My sister Yolanda visits in spring.", "Lovely.", timestamp=T0 + DAY)
    assert "Yolanda" in memory.retrieve("Yolanda", max_context_tokens=300).context


def test_lexicon_reads_only_new_pages_and_restarts_when_the_vector_index_is_rebuilt(tmp_path: Path) -> None:
    memory = make(tmp_path)
    chat(memory, 10, T0)
    memory.flush()
    scope = memory._scope_id
    memory.indexes.sync(scope)
    lex = memory.retriever.lexical.sync(scope)
    assert lex.size == 10 and memory.retriever.lexical.sync(scope) is lex  # nothing new: the same lexicon
    chat(memory, 3, T0 + DAY, topic="music")
    memory.indexes.sync(scope)
    assert memory.retriever.lexical.sync(scope) is lex and lex.size == 13  # followed incrementally
    memory.indexes.forget(scope)  # a fresh vector index (a new generation): the lexicon is rebuilt
    memory.indexes.sync(scope)
    rebuilt = memory.retriever.lexical.sync(scope)
    assert rebuilt is not lex and rebuilt.size == 13

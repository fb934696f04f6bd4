"""The core's one policy for long text, and ids of any script.

Long turns are stored whole up to ``max_text_chars`` and clipped with a visible marker past it;
queries of any length are searched (head and tail); embedders never see more than their window
(long texts are embedded in pieces and pooled); LLM prompts carry clipped pages. Ids accept letters
and digits of any script and inner spaces; control characters and outer whitespace are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from memoryos_core import HashingEmbedder, InvalidInputError, MemoryConfig, Memoryos
from memoryos_core.prompts import consolidation_messages, persona_messages
from memoryos_core.text_limits import (
    PROMPT_PAGE_CHARS,
    clip_query,
    clip_with_marker,
    embedding_pieces,
)
from memoryos_core.validation import check_id

T0 = 1_700_000_000.0
FILLER = "The committee reviewed the budget, the staffing plan and the timeline for the new building. "
LONG_TURN = "Summarise this: " + (FILLER * 700)[:60_000]
HUGE = "Summarise this: " + (FILLER * 3000)[:250_000] + " Final question: which colour is the roof? Teal."


class WindowedEmbedder(HashingEmbedder):
    """A lexical embedder with a model window: it refuses a text longer than ``max_input_chars``, as an
    API with a token limit does, and records what it was given."""

    max_input_chars = 500

    def __init__(self) -> None:
        super().__init__(256)
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        too_long = [len(t) for t in texts if len(t) > self.max_input_chars]
        if too_long:
            raise ValueError(f"input of {too_long[0]} characters is longer than the model's window")
        self.seen += list(texts)
        return super().embed(texts)


def make(path: Path, user: str = "alice", **kwargs: object) -> Memoryos:
    kwargs.setdefault("embedder", HashingEmbedder(512))
    kwargs.setdefault("background", False)
    return Memoryos(user_id=user, data_storage_path=path, **kwargs)  # type: ignore[arg-type]


# -- the pure policy -------------------------------------------------------------------------

def test_clip_with_marker_keeps_head_and_tail_and_says_what_was_cut() -> None:
    assert clip_with_marker("short text", 1_000) == "short text"
    clipped = clip_with_marker(HUGE, 200_000)
    assert len(clipped) <= 200_000 and clipped.startswith("Summarise this: ") and clipped.endswith("Teal.")
    removed = int(clipped.split("[... ")[1].split(" characters")[0].replace(",", ""))
    head, tail = clipped.split(f"\n[... {removed:,} characters clipped ...]\n")
    assert len(head) + removed + len(tail) == len(HUGE) and HUGE.startswith(head) and HUGE.endswith(tail)


def test_clip_query_keeps_head_and_tail_without_marker_words() -> None:
    query = "Summarise this: " + "alpha " * 2_000 + "What about omega?"
    clipped = clip_query(query, 4_000)
    assert len(clipped) <= 4_000 and clipped.startswith("Summarise this:") and clipped.endswith("What about omega?")
    assert "clipped" not in clipped
    assert clip_query("a short question", 4_000) == "a short question"


def test_embedding_pieces_fit_the_window_and_span_the_text() -> None:
    pieces = embedding_pieces(LONG_TURN, 500, max_pieces=16)
    assert len(pieces) == 16 and all(0 < len(p) <= 500 for p in pieces)
    assert LONG_TURN.startswith(pieces[0]) and LONG_TURN.endswith(pieces[-1])
    every = embedding_pieces(LONG_TURN, 500, max_pieces=10_000)
    assert "".join(every) == LONG_TURN  # without a cap the pieces are the whole text, in order
    assert embedding_pieces("fits", 500) == ["fits"]


def test_prompts_carry_clipped_pages() -> None:
    page_text = "User: " + HUGE
    for messages in (consolidation_messages([(1, T0, page_text)], []), persona_messages([(T0, page_text)], [], "")):
        user_message = messages[-1].content
        assert len(user_message) < PROMPT_PAGE_CHARS + 500
        assert "characters clipped ...]" in user_message and "Teal." in user_message


def test_config_refuses_tiny_limits() -> None:
    with pytest.raises(ValueError, match="max_text_chars"):
        MemoryConfig(max_text_chars=10)


# -- through Memoryos ------------------------------------------------------------------------

def test_a_60k_turn_is_stored_whole_and_a_60k_query_finds_it(tmp_path: Path) -> None:
    memory = make(tmp_path)
    memory.add_memory("My dog is called Pretzel.", "Cute name.", timestamp=T0)
    page = memory.add_memory(LONG_TURN, "Here is the summary.", timestamp=T0 + 60)
    assert memory.get(page.id).user_input == LONG_TURN  # type: ignore[union-attr]
    result = memory.retrieve(LONG_TURN)
    assert len(result.query) <= memory.config.max_query_chars and result.query.startswith("Summarise this: ")
    assert page.id in [p.id for p in result.short_term] + [sp.page.id for sp in result.mid_term]
    assert memory.search(LONG_TURN, limit=1)["results"][0]["id"] == page.id


def test_a_long_newest_exchange_shows_its_head_in_the_context_and_leaves_room(tmp_path: Path) -> None:
    memory = make(tmp_path)
    memory.add_memory("My sister Mirela lives in Valparaiso.", "Noted.")
    memory.add_memory(LONG_TURN, "Here is the summary.")
    result = memory.retrieve("Where does my sister live?")
    assert "Mirela lives in Valparaiso" in result.context  # the long paste did not crowd it out
    assert "User: Summarise this: " in result.context and "characters clipped ...]" in result.context
    assert result.context_tokens <= memory.config.max_context_tokens


async def test_async_retrieve_takes_a_60k_query(tmp_path: Path) -> None:
    memory = make(tmp_path)
    page = await memory.aadd_memory(LONG_TURN, "Done.", T0)
    result = await memory.aretrieve(LONG_TURN)
    assert page.id in [p.id for p in result.short_term]


def test_a_turn_past_the_limit_is_clipped_with_a_marker_everywhere_a_side_is_written(tmp_path: Path) -> None:
    memory = make(tmp_path)
    page = memory.add_memory(HUGE, HUGE, timestamp=T0)
    for side in (page.user_input, page.agent_response):
        assert len(side) <= memory.config.max_text_chars and "characters clipped ...]" in side
        assert side.startswith("Summarise this: ") and side.endswith("Teal.")
    assert memory.stored_text(HUGE) == page.user_input and memory.stored_text("short") == "short"
    open_page = memory.add_memory("Please read the attachment.", timestamp=T0 + 1)
    completed = memory.complete_page(open_page.id, HUGE)
    assert completed.agent_response == memory.stored_text(HUGE)
    updated = memory.update(open_page.id, user_input=HUGE)
    assert updated.user_input == memory.stored_text(HUGE)


def test_embedders_never_see_more_than_their_window(tmp_path: Path) -> None:
    embedder = WindowedEmbedder()
    memory = make(tmp_path, embedder=embedder, short_term_capacity=2)
    for i in range(3):
        memory.add_memory(f"{LONG_TURN} part {i}", "Noted.", timestamp=T0 + i)
    assert memory.flush()
    assert memory.retrieve(LONG_TURN).short_term
    assert memory.search(HUGE)["results"]
    assert embedder.seen and max(len(t) for t in embedder.seen) <= 500


def test_a_long_text_vector_is_the_mean_of_its_pieces() -> None:
    from memoryos_core.text_limits import PiecewiseEmbedder
    from memoryos_core.usage import UsageTracker

    inner = WindowedEmbedder()
    tracker = UsageTracker()
    piecewise = PiecewiseEmbedder(inner, tracker)
    assert piecewise.piece_chars == 500 and piecewise.dim == 256 and piecewise.inner is inner
    short, long = piecewise.embed(["a short text", LONG_TURN], purpose="pages")
    np.testing.assert_allclose(short, inner.embed(["a short text"])[0], atol=1e-6)  # unchanged when it fits
    pieces = inner.embed(embedding_pieces(LONG_TURN, 500))
    mean = pieces.mean(axis=0)
    np.testing.assert_allclose(long, mean / np.linalg.norm(mean), atol=1e-5)
    assert tracker.snapshot()["by_operation"]["embedding:pages"]["items"] == 1 + len(pieces)  # pieces are metered


def test_nul_is_still_refused_and_nothing_is_written(tmp_path: Path) -> None:
    memory = make(tmp_path)
    with pytest.raises(InvalidInputError, match="NUL"):
        memory.add_memory("a\x00b", "ok")
    with pytest.raises(InvalidInputError, match="query"):
        memory.retrieve("   ")
    with pytest.raises(InvalidInputError, match="query"):
        memory.search(42)  # type: ignore[arg-type]
    assert memory.list_memories() == []


# -- ids -------------------------------------------------------------------------------------

@pytest.mark.parametrize("good", ["José", "用户", "alice smith", "Ольга", "محمد", "नमस्ते", "user_1.a@b:c+d-e", "7"])
def test_ids_of_any_script_with_inner_spaces_are_accepted(good: str) -> None:
    assert check_id(good, "user_id") == good


@pytest.mark.parametrize("bad, reason", [
    ("", "empty"), (" alice", "whitespace"), ("alice ", "whitespace"), ("a\tb", "U+0009"), ("a\nb", "U+000A"),
    ("a\x00b", "U+0000"), ("a\x07b", "U+0007"), ("a\u200bb", "U+200B"), ("x" * 129, "limit"), ("a/b", "'/'"),
    ("-rf", "start"), ("..", "start"), ("a\u00a0b", "U+00A0"), (None, "string"), (5, "string"),
])
def test_bad_ids_are_refused_with_the_reason(bad: object, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(reason)):
        check_id(bad, "user_id")


def test_unicode_ids_are_separate_memories_and_normalised(tmp_path: Path) -> None:
    jose = make(tmp_path, "José", assistant_id="助手 一")
    jose.add_memory("I live in Porto.", "Lovely city.", timestamp=T0)
    same = make(tmp_path, "Jose\u0301", assistant_id="助手 一")  # decomposed accent: the same person
    assert same.user_id == "José" and [p.user_input for p in same.list_memories()] == ["I live in Porto."]
    other = make(tmp_path, "alice smith")
    assert other.list_memories() == [] and other.user_id == "alice smith"
    assert not any(p.name.startswith(("José", "alice")) for p in tmp_path.rglob("*"))  # ids never name files

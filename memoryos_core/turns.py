"""Turn pairing: the two halves of an exchange that reach memory apart, stored so none is lost.

Frameworks hand memory the user's message before the answer exists (a chat history, an agent
memory). Holding it in process memory until the answer comes would lose it in a crash, so the
user's message is stored at once as a one-sided page, and the answer completes that page when it
arrives (``Memoryos.complete_page``, atomic). If the page was answered by another writer
meanwhile, or deleted, the answer is kept as a page of its own: nothing acknowledged is dropped.
After a restart, ``waiting_page`` finds the newest page still waiting for its answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import InvalidInputError, NotFoundError
from .types import Page

if TYPE_CHECKING:
    from .memory import Memoryos


class TurnPairing:
    """Stores user messages at once and completes their pages with the answers, for one memory.

    ``meta_data`` is stored with every page it writes.
    """

    def __init__(self, memory: "Memoryos", meta_data: Mapping[str, Any] | None = None) -> None:
        self.memory = memory
        self.meta_data = dict(meta_data or {})

    def store_question(self, text: str, *, timestamp: Any = None) -> Page | None:
        """The user's message as a one-sided page now (None for a blank message: nothing to keep)."""
        if not text.strip():
            return None
        return self.memory.add_memory(text, "", timestamp=timestamp, meta_data=dict(self.meta_data))

    def waiting_page(self, *, after_seq: int = 0, question: str | None = None) -> Page | None:
        """The newest page when it is a user message still waiting for its answer, newer than
        ``after_seq`` and, when ``question`` is given, with that text (a turn left open earlier)."""
        newest = self.memory.recent_pages(1)
        if not newest:
            return None
        page = newest[-1]
        if page.agent_response or not page.user_input or page.seq <= after_seq:
            return None
        if question is not None and page.user_input != self.memory.stored_text(question):  # long text: as stored
            return None
        return page

    def store_answer(self, page_id: str | None, answer: str, *, timestamp: Any = None) -> Page:
        """Complete page ``page_id`` with ``answer``; without a page to complete (None, answered
        meanwhile, deleted), store the answer as a page of its own."""
        if page_id is not None:
            try:
                return self.memory.complete_page(page_id, answer)
            except (InvalidInputError, NotFoundError):
                pass  # answered by another writer meanwhile, or deleted: keep the answer as its own page
        return self.memory.add_memory("", answer, timestamp=timestamp, meta_data=dict(self.meta_data))

"""The public facade: one user's (and one assistant's) memory.

``add_memory`` stores a page durably and returns; consolidation and persona updates run as
durable jobs (in a background thread by default, inline with ``background=False``).
``retrieve`` searches every tier and builds a token-budgeted context; ``get_response`` answers
with an LLM and records the exchange.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Callable, Literal, Mapping, Sequence

from .config import DEFAULT_DATA_DIR, MemoryConfig
from .errors import InvalidInputError, LLMNotConfiguredError, NoAnswerError, NotFoundError, StoreError
from .export_format import EXPORT_FORMAT, parse_export, plan_import
from .index import IndexCache
from .items import ItemCatalog, ItemHit, MemoryText, Namespace, StoredItem, check_namespace, check_page
from .prompts import response_messages
from .persona.erase import plan_erase
from .persona.forget import forget_subject, terms as forget_terms
from .providers.base import ChatModel, Completion, Embedder
from .providers.local_embeddings import LocalMiniLMEmbedder
from .providers.metered import MeteredChatModel
from .providers.openai_compat import OpenAIChatModel, OpenAIEmbedder
from .retrieval import QueryVectors, Retriever, search_results
from .policy import Policy
from .storage.base import ConflictError, FactWrite
from .storage import open_store
from .storage.base import Store
from .text_limits import PiecewiseEmbedder, check_query, check_stored_text, clip_with_marker
from .tiers import Consolidator, PersonaUpdater
from .tokens import TokenCounter
from .types import Fact, ForgetResult, HistoryEntry, Page, Profile, RetrievalResult, Tier, render_page_text
from .usage import CallEvent, UsageTracker
from .validation import check_count, check_id, check_memory_id, check_meta, check_text, parse_timestamp
from .worker import EMBED_BATCH, JobRunner

_local_embedder: LocalMiniLMEmbedder | None = None
_local_lock = threading.Lock()


def default_embedder() -> LocalMiniLMEmbedder:
    """One shared local embedder per process: the ONNX session is loaded once."""
    global _local_embedder
    with _local_lock:
        if _local_embedder is None:
            _local_embedder = LocalMiniLMEmbedder()
        return _local_embedder


def _usable_answer(completion: Completion) -> str:
    """The answer's text; an empty, refused or filtered answer is no memory and is never stored."""
    reason = completion.unusable_reason()
    if reason is not None:
        raise NoAnswerError(f"{reason}; nothing was stored")
    return completion.text.strip()


class Memoryos:
    """Tiered long-term memory for one user of one assistant.

    With no ``openai_api_key``, ``openai_base_url`` or ``llm`` argument, everything but
    ``get_response`` works offline: local embeddings, heuristic segmentation and extraction.
    Environment variables never switch the LLM on by themselves.
    """

    def __init__(
        self,
        user_id: str,
        openai_api_key: str | None = None,
        openai_base_url: str | None = None,
        data_storage_path: str | os.PathLike[str] = DEFAULT_DATA_DIR,
        llm_model: str = "gpt-4o-mini",
        assistant_id: str = "default_assistant",
        short_term_capacity: int = 10,
        mid_term_capacity: int = 2000,
        mid_term_heat_threshold: float = 5.0,
        retrieval_queue_capacity: int = 7,
        long_term_knowledge_capacity: int = 100,
        embedding_model_name: str | None = None,
        *,
        llm: ChatModel | None = None,
        embedder: Embedder | None = None,
        store: Store | None = None,
        config: MemoryConfig | None = None,
        max_context_tokens: int = 2000,
        background: bool = True,
        on_call: Callable[[CallEvent], None] | None = None,
        llm_timeout: float | None = None,
        llm_max_retries: int = 2,
    ) -> None:
        self.user_id = check_id(user_id, "user_id")
        self.assistant_id = check_id(assistant_id, "assistant_id")
        self.config = config or MemoryConfig(
            short_term_capacity=short_term_capacity,
            mid_term_capacity=mid_term_capacity,
            mid_term_heat_threshold=mid_term_heat_threshold,
            retrieval_queue_capacity=retrieval_queue_capacity,
            long_term_knowledge_capacity=long_term_knowledge_capacity,
            max_context_tokens=max_context_tokens,
        )
        self.usage = UsageTracker(on_call=on_call)
        # An LLM only when the caller names one: offline by default, whatever the shell holds. A base
        # URL alone (a local server) is enough; its key may come from OPENAI_API_KEY or be a dummy.
        base_url = openai_base_url
        api_key = openai_api_key or ((os.environ.get("OPENAI_API_KEY") or "not-needed") if base_url else None)
        if llm is None and api_key:
            llm = OpenAIChatModel(llm_model, api_key=api_key, base_url=base_url, timeout=llm_timeout,
                                  max_retries=llm_max_retries)
        if embedder is None:
            if embedding_model_name and api_key:
                embedder = OpenAIEmbedder(embedding_model_name, api_key=api_key, base_url=base_url,
                                          timeout=llm_timeout, max_retries=llm_max_retries)
            else:
                embedder = default_embedder()
        self.llm = MeteredChatModel(llm, self.usage) if llm is not None else None
        #: long texts are embedded in pieces (see text_limits): every vector of the core comes from here
        self.embedder = PiecewiseEmbedder(embedder, self.usage)
        self.query_vectors = QueryVectors(self.embedder)
        self.tokens = TokenCounter(getattr(llm, "model_name", None) or llm_model)
        self._owns_store = store is None
        self.store: Store = store if store is not None else open_store(data_storage_path)
        self.data_storage_path = str(data_storage_path)
        self.background = background
        cfg = self.config
        self.policy = Policy.from_config(cfg)
        self.heat = self.policy.heat
        self.indexes = IndexCache(self.store, self.embedder.dim)
        self.retriever = Retriever(self.store, self.indexes, self.tokens, cfg, self.heat)
        self._consolidator = Consolidator(self.store, self.indexes, self.embedder,
                                         self.llm if cfg.llm_consolidation else None, cfg, self.policy)
        self._persona = PersonaUpdater(self.store, self.indexes, self.embedder, self.llm, cfg, self.policy)
        self._scope_id = self._open_scope()
        #: Items (JSON documents under namespaces) of every owner in this store; the item verbs
        #: below use it for this memory's user and assistant only.
        self.items = ItemCatalog(self.store, self.embedder)
        self._embed_lock = threading.Lock()
        self._make_runner()
        self._closed = False
        #: The confirmation of the last request to forget made in conversation (see ``forget``).
        self.last_forget: ForgetResult | None = None
        if self.store.open_jobs(self._scope_id) or self.store.unembedded_pages(self._scope_id, 1):
            self._kick()  # work left by an earlier process

    def _open_scope(self) -> int:
        scope_id = self.store.scope(self.user_id, self.assistant_id)
        if scope_id is None:  # a store creates the scope unless told not to
            raise StoreError("the store did not open this user's scope")
        return scope_id

    def _make_runner(self) -> None:
        self._runner = JobRunner(self.store, self._scope_id, self.config,
                                 {"consolidate": self._consolidator.run, "persona": self._persona.run},
                                 self._embed_backlog, self.retriever.upkeep)

    @property
    def has_llm(self) -> bool:
        return self.llm is not None

    # -- writing ---------------------------------------------------------------------------

    def add_memory(self, user_input: str, agent_response: str = "", timestamp: Any = None,
                   meta_data: dict[str, Any] | None = None) -> Page:
        """Store one exchange durably (one transaction) and return it; heavier work follows in the background.
        Either side may be empty (a note, a transcript). A side longer than ``config.max_text_chars`` is
        stored clipped, with a marker saying how much was cut (see ``text_limits``); never rejected."""
        cfg = self.config
        user_input = check_stored_text(user_input, "user_input", cfg.max_text_chars)
        agent_response = check_stored_text(agent_response, "agent_response", cfg.max_text_chars)
        if not user_input.strip() and not agent_response.strip():
            raise InvalidInputError("user_input and agent_response are both empty: there is nothing to remember")
        ts = parse_timestamp(timestamp)
        meta = check_meta(meta_data, cfg.max_meta_bytes)
        text = render_page_text(user_input, agent_response)
        embedding = None if self.background else self.embedder.embed([text], purpose="pages")[0]
        page, _ = self.store.add_page(
            self._scope_id, user_input=user_input, agent_response=agent_response, timestamp=ts, meta=meta,
            tokens=self.tokens.count(text), embedding=embedding, consolidate_at=self.policy.consolidate_at)
        subject = forget_subject(user_input)
        if subject is not None:  # "please forget my passport number": done before anything reads it again
            self.last_forget = self.forget(subject)
        self._kick()
        return page

    def forget(self, query: str) -> ForgetResult:
        """Erase what ``query`` names ("my passport number", or a request such as "please forget my
        passport number") from every tier and index, the knowledge, the profile and the history's text;
        history keeps one FORGET event saying how much went, not what. Matching is by shared words (every
        content word of the subject, or all but one with a close meaning), precision first."""
        query = check_text(query, "query", self.config.max_text_chars, allow_empty=False)
        subject = forget_subject(query) or query.strip()
        wanted = forget_terms(subject)
        if not wanted:
            raise InvalidInputError("nothing to forget: name what should be forgotten, e.g. 'my passport number'")
        while self._embed_backlog():
            pass
        scope = self._scope_id
        plan = plan_erase(self.store, self.indexes, self.embedder, scope, self.heat, subject, wanted)
        result = plan.result
        self.store.forget(scope, page_ids=result.page_ids, fact_ids=result.fact_ids,
                          profile_changes=plan.profile_changes, segments=plan.segments, note=result.summary())
        self.indexes.forget(scope)  # rebuilt from the store at the next search
        return result

    def stored_text(self, text: str) -> str:
        """``text`` as ``add_memory`` stores a page side: whole, or clipped with a marker when longer than
        ``config.max_text_chars``. For callers that compare what they hold with what is stored."""
        return clip_with_marker(text, self.config.max_text_chars)

    def _kick(self) -> None:
        """Start due work: in the background thread, or right here in synchronous mode."""
        if self.background:
            self._runner.wake()
        else:
            self._runner.run_due()

    def _embed_backlog(self, limit: int = EMBED_BATCH) -> int:
        """Embed pages stored without a vector; returns how many were embedded. The lock keeps the
        worker and a retrieval from embedding the same pages twice."""
        with self._embed_lock:
            pending = self.store.unembedded_pages(self._scope_id, limit)
            if not pending:
                return 0
            vectors = self.embedder.embed([text for _, text in pending], purpose="pages")
            self.store.set_page_embeddings(self._scope_id, [(rid, vectors[i]) for i, (rid, _) in enumerate(pending)])
            return len(pending)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every due job of this memory is done. False if ``timeout`` passed first, or if
        work is left undone: a job parked as failed (see ``stats()["last_error"]``;
        ``retry_failed_jobs()`` makes it due again) or one waiting out its retry delay."""
        if self.background:
            self._runner.wake()
            if not self._runner.wait_idle(timeout):
                return False
        else:
            self._runner.run_due()
        return not any(j["status"] in ("pending", "failed") for j in self.store.open_jobs(self._scope_id))

    def warm_up(self, timeout: float | None = None) -> bool:
        """Load this user's search indexes now rather than at the first retrieval, and wait for their
        graphs (built in the background past ``index.HNSW_THRESHOLD`` vectors; searches are exact
        meanwhile). For servers at start-up; False if ``timeout`` passed before the graphs were ready."""
        while self._embed_backlog():
            pass
        self.indexes.sync(self._scope_id)
        self.retriever.lexical.sync(self._scope_id)
        return self.indexes.wait_for_builds(self._scope_id, timeout)

    # -- reading ---------------------------------------------------------------------------

    def retrieve(self, query: str, *, top_k: int | None = None, max_context_tokens: int | None = None,
                 record_visits: bool = True) -> RetrievalResult:
        """Search every tier for ``query`` and assemble a context within the token budget. A query longer
        than ``config.max_query_chars`` is searched by its head and tail."""
        query = check_query(query, self.config.max_query_chars)
        while self._embed_backlog():  # read-your-writes: pages still waiting for a vector
            pass
        qvec = self.query_vectors.get(query)
        return self._retrieve_with(query, qvec, top_k, max_context_tokens, record_visits)

    def _retrieve_with(self, query: str, qvec: Any, top_k: int | None, max_context_tokens: int | None,
                       record_visits: bool) -> RetrievalResult:
        budget = max_context_tokens or self.config.max_context_tokens
        if budget < 1:
            raise InvalidInputError("max_context_tokens must be positive")
        result = self.retriever.retrieve(self._scope_id, query, qvec, top_k=top_k or self.config.retrieval_queue_capacity,
                                         max_context_tokens=budget, record_visits=record_visits)
        self._upkeep_if_due()
        return result

    def _upkeep_if_due(self) -> None:
        """Let the worker write what reads left (heat visits, a lexicon snapshot) once enough waits."""
        if self.retriever.upkeep_due:
            self._kick()

    def search(self, query: str, limit: int = 10) -> dict[str, list[dict[str, Any]]]:
        """mem0-style results: pages of every tier and facts, ranked together by score. Heats nothing."""
        query = check_query(query, self.config.max_query_chars)
        check_count(limit, "limit", minimum=1)
        while self._embed_backlog():
            pass
        qvec = self.query_vectors.get(query)
        results = search_results(*self.retriever.search(self._scope_id, query, qvec, limit), limit=limit)
        self._upkeep_if_due()
        return results

    # -- items (documents under namespaces, e.g. a LangGraph store's) -------------------------

    @property
    def owner(self) -> tuple[str, str]:
        """(user_id, assistant_id): whose memory this is; items written here belong to it."""
        return (self.user_id, self.assistant_id)

    def put_item(self, namespace: Namespace, key: str, value: Mapping[str, Any], *,
                 index: Sequence[str] | Literal[False] | None = None, ttl_minutes: float | None = None) -> None:
        """Store (or replace) a JSON document under ``namespace``/``key`` in this user's memory, indexed
        for search by the texts at ``index`` field paths (default: the whole value; False: not indexed),
        expiring ``ttl_minutes`` after its last write or read. See :mod:`memoryos_core.items`."""
        self.items.put(self.owner, namespace, key, value, index=index, ttl_minutes=ttl_minutes)

    def get_item(self, namespace: Namespace, key: str, *, refresh_ttl: bool = True) -> StoredItem | None:
        return self.items.get(self.owner, namespace, key, refresh_ttl=refresh_ttl)

    def delete_item(self, namespace: Namespace, key: str) -> None:
        self.items.delete(self.owner, namespace, key)

    def search_items(self, namespace_prefix: Namespace = (), *, query: str | None = None,
                     filter: Mapping[str, Any] | None = None, limit: int = 10, offset: int = 0,
                     refresh_ttl: bool = True, include_memory: bool = False) -> list[ItemHit]:
        """This user's items under ``namespace_prefix``, filtered, ranked by ``query`` with the hybrid
        ranking of pages, then paged. With ``include_memory`` (and a query), the user's conversation
        pages (every tier) and knowledge entries compete with the items on score, shown as items in
        ``namespace_prefix`` keyed by their page or fact id, with value ``{"content": text, "kind":
        "page" | "user_knowledge" | "assistant_knowledge", ...}`` (filters apply to that value too)."""
        memory = self.memory_texts(namespace_prefix, query, limit, offset) if include_memory else []
        return self.items.search(namespace_prefix, owner=self.owner, query=query, filter=filter, limit=limit,
                                 offset=offset, refresh_ttl=refresh_ttl, memory=memory)

    def memory_texts(self, namespace: Namespace, query: str | None, limit: int, offset: int = 0) -> list[MemoryText]:
        """The best ``limit + offset`` pages and facts for ``query`` (as ``search`` ranks them) with their
        stored vectors, shown as items in ``namespace``: what ``search_items(..., include_memory=True)``
        (or ``ItemCatalog.search(memory=...)``) ranks together with the items. Empty without a query."""
        namespace = check_namespace(namespace, "namespace_prefix", allow_empty=True)
        limit, offset = check_page(limit, offset)
        if not isinstance(query, str) or not query.strip() or not limit:
            return []
        limit += offset
        out = []
        for found in self.search(query, limit=limit)["results"]:
            kind = found["type"]
            value: dict[str, Any] = {"content": found["memory"], "kind": kind}
            try:  # (deleted by another process since the search: skipped)
                if kind == "page":
                    row = self.store.get_page(self._scope_id, found["id"])
                    vector, updated = row.embedding, row.page.created_at
                    value.update(tier=row.page.tier, timestamp=row.page.timestamp, metadata=row.page.meta)
                else:
                    fact_row = self.store.get_fact(self._scope_id, found["id"])
                    vector, updated = fact_row.embedding, fact_row.fact.updated_at
            except NotFoundError:
                continue
            if vector is None:
                continue
            item = StoredItem(namespace=namespace, key=found["id"], value=value, created_at=found["created_at"],
                              updated_at=updated)
            out.append(MemoryText(item, kind, found["memory"], vector))
        return out

    def list_item_namespaces(self, *, prefix: Sequence[str] | None = None, suffix: Sequence[str] | None = None,
                             max_depth: int | None = None, limit: int = 100, offset: int = 0) -> list[Namespace]:
        """Namespaces of this user's items (``*`` in ``prefix``/``suffix`` matches any label)."""
        return self.items.list_namespaces(owner=self.owner, prefix=prefix, suffix=suffix, max_depth=max_depth,
                                          limit=limit, offset=offset)

    async def aput_item(self, namespace: Namespace, key: str, value: Mapping[str, Any], *,
                        index: Sequence[str] | Literal[False] | None = None, ttl_minutes: float | None = None) -> None:
        await asyncio.to_thread(self.put_item, namespace, key, value, index=index, ttl_minutes=ttl_minutes)

    async def asearch_items(self, namespace_prefix: Namespace = (), **kwargs: Any) -> list[ItemHit]:
        return await asyncio.to_thread(lambda: self.search_items(namespace_prefix, **kwargs))

    def get_response(self, query: str, relationship_with_user: str = "friend", style_hint: str = "",
                     user_conversation_meta_data: dict[str, Any] | None = None) -> str:
        """Answer ``query`` with memory as context, then remember the exchange."""
        llm = self._require_llm()
        if forget_subject(query) is not None:
            self.last_forget = self.forget(query)  # forgotten before the answer could repeat it
        result = self.retrieve(query)
        messages = self._response_messages(query, result, relationship_with_user, style_hint, user_conversation_meta_data)
        answer = _usable_answer(llm.complete(messages, purpose="response"))
        self.add_memory(query, answer, meta_data=user_conversation_meta_data)
        return answer

    def _require_llm(self) -> MeteredChatModel:
        if self.llm is None:
            raise LLMNotConfiguredError(
                "get_response needs a language model: pass openai_api_key=... (and openai_base_url=... for any "
                "OpenAI-compatible server), set OPENAI_API_KEY, or pass llm=<a ChatModel>, e.g. "
                "memoryos_langchain.LangChainChatModel(your_model). Retrieval works without one."
            )
        return self.llm

    def _response_messages(self, query: str, result: RetrievalResult, relationship: str, style_hint: str,
                           meta: dict[str, Any] | None) -> list[Any]:
        check_text(style_hint, "style_hint", 2000)
        check_text(relationship, "relationship_with_user", 200)
        return response_messages(query, result.context, assistant_id=self.assistant_id,
                                 relationship_with_user=relationship or "friend", style_hint=style_hint,
                                 conversation_meta=check_meta(meta, self.config.max_meta_bytes) if meta else None)

    def recent_pages(self, limit: int | None = None) -> list[Page]:
        """The newest pages (the short-term window by default), oldest first."""
        if limit is not None and limit < 0:
            raise InvalidInputError("limit must be non-negative")
        return [r.page for r in self.store.short_term(self._scope_id, self.config.short_term_capacity if limit is None else limit)]

    def complete_page(self, page_id: str, agent_response: str) -> Page:
        """Attach the response to a page stored with the user's side only (the answer arrived later).
        Atomic: raises ``InvalidInputError`` if the page already has a response."""
        agent_response = check_stored_text(agent_response, "agent_response", self.config.max_text_chars)
        if not agent_response.strip():
            raise InvalidInputError("agent_response must not be empty")
        page = self.store.get_page(self._scope_id, page_id).page
        text = render_page_text(page.user_input, agent_response)
        vec = self.embedder.embed([text], purpose="pages")[0]
        try:
            return self.store.update_page(self._scope_id, page_id, user_input=page.user_input,
                                          agent_response=agent_response, tokens=self.tokens.count(text), embedding=vec,
                                          only_if_unanswered=True)
        except ConflictError as exc:
            raise InvalidInputError(f"page {page_id} already has a response") from exc

    def get_user_profile(self) -> Profile:
        return self.store.profile(self._scope_id)

    def update_user_profile(self, **fields: Any) -> Profile:
        """Set (or, with None, remove) profile fields by hand; recorded in history."""
        return self.store.set_profile_fields(self._scope_id, fields, self.policy)

    def get_user_knowledge(self, *, include_past: bool = False) -> list[Fact]:
        """What is known about the user now; with ``include_past``, also what was true once and was
        replaced or ended (``Fact.valid_until`` set, latest ended first, after the current facts)."""
        past = [f.fact for f in self.store.past_facts(self._scope_id) if f.fact.kind == "user"] if include_past else []
        return [f.fact for f in self.store.facts(self._scope_id, "user")] + past

    def get_assistant_knowledge(self) -> list[Fact]:
        return [f.fact for f in self.store.facts(self._scope_id, "assistant")]

    # -- management ------------------------------------------------------------------------

    def list_memories(self, tier: Tier | None = None, limit: int = 100, offset: int = 0) -> list[Page]:
        if tier not in (None, "short", "mid", "archived"):
            raise InvalidInputError("tier must be 'short', 'mid', 'archived' or None")
        check_count(limit, "limit")
        check_count(offset, "offset")
        return self.store.list_pages(self._scope_id, tier=tier, limit=limit, offset=offset)

    def get(self, memory_id: str) -> Page | Fact:
        if check_memory_id(memory_id).startswith("ft_"):
            return self.store.get_fact(self._scope_id, memory_id).fact
        return self.store.get_page(self._scope_id, memory_id).page

    def update(self, memory_id: str, text: str | None = None, *, user_input: str | None = None,
               agent_response: str | None = None) -> Page | Fact:
        """Edit a fact's text, or a page's sides; the old value goes to history."""
        limit = self.config.max_text_chars
        if check_memory_id(memory_id).startswith("ft_"):
            row = self.store.get_fact(self._scope_id, memory_id)
            text = check_text(text, "text", limit, allow_empty=False)
            vec = self.embedder.embed([text], purpose="facts")[0]
            self.store.write_facts(self._scope_id, [FactWrite(op="update", kind=row.fact.kind, event="UPDATE", rid=row.rid,
                                                              text=text, source="manual", embedding=vec)])
            return self.store.get_fact(self._scope_id, memory_id).fact
        current = self.store.get_page(self._scope_id, memory_id).page
        new_in = check_stored_text(user_input if user_input is not None else (text if text is not None else current.user_input),
                                   "user_input", limit)
        new_out = check_stored_text(agent_response if agent_response is not None else current.agent_response,
                                    "agent_response", limit)
        if not new_in.strip() and not new_out.strip():
            raise InvalidInputError("a page needs a non-empty user_input or agent_response")
        page_text = render_page_text(new_in, new_out)
        vec = self.embedder.embed([page_text], purpose="pages")[0]
        return self.store.update_page(self._scope_id, memory_id, user_input=new_in, agent_response=new_out,
                                      tokens=self.tokens.count(page_text), embedding=vec)

    def delete(self, memory_id: str) -> None:
        """Delete one page (with its vector and the facts drawn only from it) or one fact."""
        if check_memory_id(memory_id).startswith("ft_"):
            row = self.store.get_fact(self._scope_id, memory_id)
            self.store.write_facts(self._scope_id, [FactWrite(op="delete", kind=row.fact.kind, event="DELETE", rid=row.rid)])
        else:
            self.store.delete_page(self._scope_id, memory_id)

    def delete_all(self) -> None:
        """Erase everything this user has (every assistant): rows, vectors, knowledge, profile, history, jobs."""
        self._runner.stop()
        self.store.delete_user(self.user_id)
        self.indexes.forget(self._scope_id)
        self._scope_id = self._open_scope()
        self._make_runner()

    def history(self, memory_id: str | None = None) -> list[HistoryEntry]:
        return self.store.history(self._scope_id, memory_id)

    def retry_failed_jobs(self) -> int:
        """Make parked jobs (failed ``job_max_attempts`` times, e.g. a long LLM outage) due again."""
        count = self.store.retry_failed_jobs(self._scope_id)
        if count:
            self._kick()
        return count

    def stats(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "assistant_id": self.assistant_id,
            "tiers": self.store.counts(self._scope_id),
            "jobs": self.store.open_jobs(self._scope_id),
            "usage": self.usage.snapshot(),
            "llm": self.llm.model_name if self.llm else None,
            "embedder": self.embedder.name,
            "mode": "llm" if self.llm else "offline-heuristic",
            "last_error": self._runner.last_error,
        }

    def export(self) -> dict[str, Any]:
        """Everything of this user/assistant as JSON-ready data (vectors omitted: they are re-derived)."""
        return {"format": EXPORT_FORMAT, "user_id": self.user_id, "assistant_id": self.assistant_id,
                **self.store.export_rows(self._scope_id), "items": self.items.dump(self.owner)}

    def import_data(self, data: Any) -> int:
        """Restore an export (of any user, from any backend) into this memory; returns the pages added.

        Pages keep their segments, tiers and times; facts their active state and times; profile fields,
        history and items (the LangGraph store's documents) come along; vectors are derived again. The whole document is checked first
        (``ExportFormatError`` names the bad field) and written in one transaction: on any error nothing
        is written. Records this memory already holds (same id; for items, same namespace and key) are
        left as they are, so importing the same export twice changes nothing; profile fields it already
        has keep their value."""
        doc = parse_export(data, self.config)
        batch = plan_import(doc, user_id=self.user_id, assistant_id=self.assistant_id,
                            embed_pages=lambda texts: self.embedder.embed(texts, purpose="pages"),
                            embed_facts=lambda texts: self.embedder.embed(texts, purpose="facts"),
                            count_tokens=self.tokens.count,
                            embed_items=lambda texts: self.embedder.embed(texts, purpose="items"))
        counts = self.store.import_rows(self._scope_id, batch, self.policy)
        if counts.pages:
            self._kick()
        return counts.pages

    # -- async twins -----------------------------------------------------------------------

    async def aadd_memory(self, user_input: str, agent_response: str = "", timestamp: Any = None,
                          meta_data: dict[str, Any] | None = None) -> Page:
        return await asyncio.to_thread(self.add_memory, user_input, agent_response, timestamp, meta_data)

    async def aretrieve(self, query: str, *, top_k: int | None = None, max_context_tokens: int | None = None,
                        record_visits: bool = True) -> RetrievalResult:
        query = check_query(query, self.config.max_query_chars)
        while await asyncio.to_thread(self._embed_backlog):
            pass
        qvec = await self.query_vectors.aget(query)
        return await asyncio.to_thread(self._retrieve_with, query, qvec, top_k, max_context_tokens, record_visits)

    async def aget_response(self, query: str, relationship_with_user: str = "friend", style_hint: str = "",
                            user_conversation_meta_data: dict[str, Any] | None = None) -> str:
        llm = self._require_llm()
        result = await self.aretrieve(query)
        messages = self._response_messages(query, result, relationship_with_user, style_hint, user_conversation_meta_data)
        answer = _usable_answer(await llm.acomplete(messages, purpose="response"))
        await self.aadd_memory(query, answer, meta_data=user_conversation_meta_data)
        return answer

    async def aforget(self, query: str) -> ForgetResult:
        return await asyncio.to_thread(self.forget, query)

    async def asearch(self, query: str, limit: int = 10) -> dict[str, list[dict[str, Any]]]:
        return await asyncio.to_thread(self.search, query, limit)

    async def aflush(self, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.flush, timeout)

    async def awarm_up(self, timeout: float | None = None) -> bool:
        return await asyncio.to_thread(self.warm_up, timeout)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, *, flush: bool = True, timeout: float = 30.0) -> bool:
        """Finish due work (bounded by ``timeout``), stop the worker and close the store. Pending jobs
        stay durable. Returns False if the worker was still busy (the store is then left open)."""
        if self._closed:
            return True
        if flush:
            self.flush(timeout)
        stopped = self._runner.stop()
        if stopped:  # what readers left, if the worker did not get to it (``close(flush=False)``)
            self.retriever.upkeep()
        if self._owns_store and stopped:
            self.store.close()
        self._closed = True
        return stopped

    def __enter__(self) -> "Memoryos":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode: Literal["llm", "offline"] = "llm" if self.llm else "offline"
        return f"Memoryos(user_id={self.user_id!r}, assistant_id={self.assistant_id!r}, mode={mode!r})"


__all__ = ["Memoryos", "NotFoundError", "default_embedder"]

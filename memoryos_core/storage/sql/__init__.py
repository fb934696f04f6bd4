"""The one SQL implementation of the :class:`~memoryos_core.storage.base.Store` contract, for SQLite
and PostgreSQL alike.

The statements are written once, in plain SQL, and a :class:`~memoryos_core.storage.dialect.Dialect`
adapts them (placeholders, list parameters, row locks); a backend supplies only its
:class:`~memoryos_core.storage.dialect.Database` (connections, transactions, migrations). Every
public method is one transaction. Decisions are the engine's: where one depends on rows only the
transaction sees (is a segment hot now, which are the coldest), the store is handed the
:class:`~memoryos_core.policy.Policy`, asks it and executes its answer before committing.

The parts, by what they keep: :mod:`.core` (scopes, locks, history, row records), :mod:`.pages`,
:mod:`.segments`, :mod:`.knowledge` (persona passes, facts, profile), :mod:`.jobs`, :mod:`.management`
(what the indexes sync from, history, counts, erase), :mod:`.exchange` (export, import), :mod:`.items`
(the LangGraph store's documents), :mod:`.forgetting` (erasing what the user asked to forget),
:mod:`.lexicons` (what the lexical index reads, and its snapshot).
"""

from __future__ import annotations

from .exchange import ExchangeSQL
from .forgetting import ForgettingSQL
from .items import ItemsSQL
from .lexicons import LexiconsSQL
from .jobs import JobsSQL
from .knowledge import KnowledgeSQL
from .management import ManagementSQL
from .pages import PagesSQL
from .segments import SegmentsSQL


class SQLStore(PagesSQL, SegmentsSQL, KnowledgeSQL, JobsSQL, ManagementSQL, ExchangeSQL, ItemsSQL, ForgettingSQL,
               LexiconsSQL):
    """A store over any :class:`~memoryos_core.storage.dialect.Database`."""


__all__ = ["SQLStore"]

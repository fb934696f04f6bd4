"""Time hints: the dates and months a query names, as windows (``memoryos_core.retrieval.time_hints``)."""

from __future__ import annotations

from retrieval_support import day

from memoryos_core.retrieval.time_hints import time_hints


def test_time_hints() -> None:
    [h] = time_hints("What did Maria do on 3 June, 2023?")
    assert h.matches(day(2023, 6, 3) + 3600) and h.matches(day(2023, 6, 5)) and not h.matches(day(2023, 6, 9))
    [h] = time_hints("What painting did she show on October 13, 2023?")
    assert h.matches(day(2023, 10, 13)) and not h.matches(day(2023, 11, 13))
    [h] = time_hints("What did he donate in December 2023?")
    assert h.matches(day(2023, 12, 24)) and h.matches(day(2024, 1, 5)) and not h.matches(day(2023, 11, 30))
    [h] = time_hints("When did Melanie go camping in June?")
    assert h.matches(day(2021, 6, 10)) and h.matches(day(2023, 7, 2)) and not h.matches(day(2023, 8, 1))
    assert time_hints("May I ask what you did?") == []
    assert time_hints("What happened in 2023?") == []

"""LoCoMo data: loading, evidence clean-up, and the turn-to-page plan used for ingestion.

The dataset (CC BY-NC 4.0) is never copied into the project: it is read from a path given by
``--data-path``, ``$MEMORYOS_LOCOMO`` or the default ``../shared/data/locomo/locomo10.json``
relative to the repository.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from memoryos_core.validation import parse_timestamp

ENV_VAR = "MEMORYOS_LOCOMO"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RELATIVE = Path("..") / "shared" / "data" / "locomo" / "locomo10.json"

_SESSION_KEY = re.compile(r"^session_(\d+)$")
_EVIDENCE_ID = re.compile(r"^D:?(\d+):(\d+)$")


@dataclass(frozen=True)
class Turn:
    dia_id: str
    speaker: str
    text: str
    session: int
    timestamp: float
    caption: str = ""

    @property
    def full_text(self) -> str:
        """The turn as stored in memory: its text, plus the caption of a shared image."""
        if self.caption:
            return f"{self.text} [shares an image: {self.caption}]".strip()
        return self.text


@dataclass(frozen=True)
class Question:
    question: str
    answer: str | None
    category: int
    evidence: tuple[str, ...]
    raw_evidence: tuple[str, ...]
    adversarial_answer: str | None = None
    index: int = 0


@dataclass
class Conversation:
    sample_id: str
    speaker_a: str
    speaker_b: str
    sessions: list[tuple[int, str, float, list[Turn]]]  # (number, date text, timestamp, turns), non-empty only
    questions: list[Question] = field(default_factory=list)
    unresolved_evidence: int = 0

    @property
    def turns(self) -> list[Turn]:
        return [t for _, _, _, turns in self.sessions for t in turns]

    def turn_map(self) -> dict[str, Turn]:
        return {t.dia_id: t for t in self.turns}


@dataclass(frozen=True)
class PagePlan:
    """One MemoryOS page: speaker A's side as user input, speaker B's as the response."""

    user_input: str
    agent_response: str
    timestamp: float
    session: int
    dia_ids: tuple[str, ...]


def default_data_path() -> Path:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return (REPO_ROOT / DEFAULT_RELATIVE).resolve()


def resolve_data_path(arg: str | os.PathLike[str] | None) -> Path:
    """``--data-path`` wins, then ``$MEMORYOS_LOCOMO``, then the default next to the repository."""
    return Path(arg) if arg else default_data_path()


def clean_evidence(raw: Sequence[Any], known: set[str] | None = None) -> tuple[tuple[str, ...], int]:
    """Normalised evidence ids, and how many entries could not be resolved.

    The data has a few malformed entries: several ids in one string (``"D8:6; D9:17"``,
    ``"D9:1 D4:4"``), ``"D:11:26"``, zero-padded ``"D30:05"``, a bare ``"D"``, and ids that name no
    turn. Entries are split on ``;``/whitespace, parsed as ``D<session>:<turn>``; ids that do not
    parse, or (given ``known``) name no turn, are dropped and counted.
    """
    out: list[str] = []
    bad = 0
    for entry in raw:
        for piece in re.split(r"[;,\s]+", str(entry).strip()):
            if not piece:
                continue
            m = _EVIDENCE_ID.match(piece)
            if not m:
                bad += 1
                continue
            dia = f"D{int(m.group(1))}:{int(m.group(2))}"
            if known is not None and dia not in known:
                bad += 1
                continue
            if dia not in out:
                out.append(dia)
    return tuple(out), bad


def parse_conversation(sample: dict[str, Any]) -> Conversation:
    conv = sample["conversation"]
    numbers = sorted(int(m.group(1)) for k in conv if (m := _SESSION_KEY.match(k)))
    sessions: list[tuple[int, str, float, list[Turn]]] = []
    for n in numbers:
        raw_turns = conv.get(f"session_{n}") or []
        if not raw_turns:
            continue  # empty sessions are skipped
        date_text = str(conv.get(f"session_{n}_date_time") or "")
        ts = parse_timestamp(date_text) if date_text else (sessions[-1][2] + 86400.0 if sessions else 0.0)
        turns = [Turn(dia_id=str(t.get("dia_id", f"D{n}:{i + 1}")), speaker=str(t.get("speaker", "")),
                      text=str(t.get("text") or ""), session=n, timestamp=ts,
                      caption=str(t.get("blip_caption") or "").strip())
                 for i, t in enumerate(raw_turns)]
        sessions.append((n, date_text, ts, turns))
    result = Conversation(sample_id=str(sample["sample_id"]), speaker_a=str(conv["speaker_a"]),
                          speaker_b=str(conv["speaker_b"]), sessions=sessions)
    known = set(result.turn_map())
    for i, qa in enumerate(sample.get("qa") or []):
        evidence, bad = clean_evidence(qa.get("evidence") or [], known)
        result.unresolved_evidence += bad
        answer = qa.get("answer")
        result.questions.append(Question(
            question=str(qa["question"]), answer=None if answer is None else str(answer),
            category=int(qa["category"]), evidence=evidence,
            raw_evidence=tuple(str(e) for e in qa.get("evidence") or []),
            adversarial_answer=qa.get("adversarial_answer"), index=i))
    return result


def load_locomo(path: str | os.PathLike[str], conversations: Sequence[str] | None = None) -> list[Conversation]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"LoCoMo data not found at {p}: pass --data-path, or set ${ENV_VAR} to the locomo10.json file")
    with p.open(encoding="utf-8") as fh:
        data = json.load(fh)
    convs = [parse_conversation(s) for s in data]
    if conversations:
        wanted = list(conversations)
        by_id = {c.sample_id: c for c in convs}
        missing = [w for w in wanted if w not in by_id]
        if missing:
            raise ValueError(f"unknown conversation(s) {', '.join(missing)}; the file has {', '.join(by_id)}")
        convs = [by_id[w] for w in wanted]
    return convs


def speaker_line(speaker: str, text: str) -> str:
    return f"{speaker}: {text}" if speaker else text


def plan_pages(conv: Conversation, *, with_names: bool = True) -> list[PagePlan]:
    """Turn a conversation into pages without dropping a turn.

    Within each session, consecutive turns of one speaker are merged into one side (joined by a
    newline); a speaker-A side followed by a speaker-B side makes one page; a B side with no A side
    before it becomes a page with an empty user input, and a trailing A side a page with an empty
    response. Pages never span sessions. Each side starts with the speaker's name (``with_names``),
    so the stored text says who said what; every page records the dia_ids of all its turns. Pages of
    a session get the session's date-time plus one second per page, to keep their order.
    """
    pages: list[PagePlan] = []
    for number, _, ts, turns in conv.sessions:
        sides: list[tuple[str, list[Turn]]] = []
        for t in turns:
            if sides and sides[-1][0] == t.speaker:
                sides[-1][1].append(t)
            else:
                sides.append((t.speaker, [t]))
        pending_a: list[Turn] | None = None
        k = 0

        def side_text(group: list[Turn]) -> str:
            return "\n".join(speaker_line(t.speaker if with_names else "", t.full_text) for t in group)

        def emit(a: list[Turn] | None, b: list[Turn] | None) -> None:
            nonlocal k
            group = (a or []) + (b or [])
            pages.append(PagePlan(user_input=side_text(a) if a else "", agent_response=side_text(b) if b else "",
                                  timestamp=ts + k, session=number, dia_ids=tuple(t.dia_id for t in group)))
            k += 1

        for speaker, group in sides:
            if speaker == conv.speaker_b:
                emit(pending_a, group)
                pending_a = None
            else:  # speaker A (or an unexpected third speaker, treated as the user side)
                if pending_a is not None:
                    emit(pending_a, None)
                pending_a = group
        if pending_a is not None:
            emit(pending_a, None)
    return pages

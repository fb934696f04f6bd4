"""Where a context helps or misleads the reader: MemoryOS against a baseline, question by question.

Reads the ``questions.jsonl`` of an answered ``memoryos bench locomo`` run (it keeps, per question,
the context each system handed the reader and the answers) and the LoCoMo file, and prints counts
for the suspects of issue 17:

- profile and knowledge lines placed first: how often, how many tokens, about "User"/"Assistant"
  rather than a name, with unresolved relative times, and answers drawn from them;
- exchanges shown by one side: turns whose page partner is missing, and runs of one speaker's
  lines that hide a missing turn of the other;
- relative times: turns with "yesterday", "last week" ... in the context, and temporal answers
  that repeat the date line instead of resolving it;
- dates: date lines per context, where the first evidence turn sits;
- the questions MemoryOS loses and wins, with the proxies of both contexts.

    .venv/bin/python benchmarks/reader_analysis.py /tmp/bench17-before [--baseline hybrid_rag] [--list 15]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from memoryos_bench import metrics
from memoryos_bench.data import load_locomo, plan_pages, resolve_data_path, speaker_line
from memoryos_core.retrieval import short_date
from memoryos_core.tokens import TokenCounter

RELATIVE = re.compile(
    r"\b(yesterday|today|tomorrow|tonight|last (?:night|week|weekend|month|year|fri|friday|saturday|sunday|monday|"
    r"tuesday|wednesday|thursday|summer|winter|spring|fall)|this (?:week|weekend|month|year|morning|summer)|"
    r"next (?:week|weekend|month|year)|(?:a|one|two|three|few|couple of) (?:days?|weeks?|months?|years?) ago|"
    r"recently|the other day|the week before|the day before)\b", re.I)
DATE_LINE = re.compile(r"^\[(\d{1,2} \w+ \d{4})\]$")
KNOWLEDGE_SECTIONS = ("## User profile", "## What is known about the user", "## What is known about the assistant")
ANSWER_DATE = re.compile(r"\b(\d{1,2} (?:january|february|march|april|may|june|july|august|september|october|"
                         r"november|december) \d{4})\b", re.I)
KNOWLEDGE_DATE = re.compile(r"^- \[(\d{1,2} \w+ \d{4})\] ")
ROLE_SUBJECT = re.compile(r"^- (?:\[[^\]]*\] )?(?:User|Assistant)\b|^- [a-z_ ]+: ")


def sections(context: str) -> dict[str, list[str]]:
    """Lines of each ``## `` section; lines before any header go to ``""`` (the baselines have none)."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in context.splitlines():
        if line.startswith("## "):
            current = line.strip()
            out.setdefault(current, [])
        elif line.strip():
            out.setdefault(current, []).append(line)
    return out


def conversation_lines(context: str) -> list[str]:
    secs = sections(context)
    return [line for name, lines in secs.items() if name not in KNOWLEDGE_SECTIONS for line in lines]


def content_stems(text: str) -> set[str]:
    return {metrics._stem(w) for w in metrics.normalize_answer(text).split() if w not in metrics._FUNCTION_WORDS}


class TurnIndex:
    """Maps a context line to the turns it may be (by exact text) and each turn to its page."""

    def __init__(self, conv: Any) -> None:
        self.by_line: dict[str, list[str]] = {}
        self.page_of: dict[str, int] = {}
        self.side_of: dict[str, str] = {}
        self.pages: list[Any] = plan_pages(conv)
        self.turns = conv.turn_map()
        for t in conv.turns:
            self.by_line.setdefault(speaker_line(t.speaker, t.full_text), []).append(t.dia_id)
        for i, page in enumerate(self.pages):
            for d in page.dia_ids:
                self.page_of[d] = i
                self.side_of[d] = "a" if self.turns[d].speaker == conv.speaker_a else "b"

    def turn_ids(self, lines: list[str]) -> list[str | None]:
        return [(self.by_line.get(line) or [None])[0] for line in lines]


def analyse(run: Path, data_path: Path, baseline: str, listing: int, answers: Path | None = None) -> str:
    rows = [json.loads(line) for line in (run / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    if answers is not None:  # answers of a run still going (answers.partial.jsonl), contexts of a finished one
        given: dict[tuple[str, int], dict[str, Any]] = {}
        for line in answers.read_text(encoding="utf-8").splitlines():
            a = json.loads(line)
            given.setdefault((a["conversation"], a["index"]), {})[a["system"]] = a
        for r in rows:
            r["answers"] = given.get((r["conversation"], r["index"]), {})
    rows = [r for r in rows if "answers" in r and "memoryos" in r["answers"] and baseline in r["answers"]]
    if not rows:
        raise SystemExit(f"no question of {run} was answered by memoryos and {baseline}")
    convs = {c.sample_id: c for c in load_locomo(data_path, sorted({r["conversation"] for r in rows}))}
    index = {sid: TurnIndex(c) for sid, c in convs.items()}
    counter = TokenCounter("gpt-4o-mini")
    systems = ("memoryos", baseline)
    stats: dict[str, Counter[str]] = {s: Counter() for s in systems}
    sums: dict[str, Counter[str]] = {s: Counter() for s in systems}
    outcome: Counter[str] = Counter()
    losses_by_cat: Counter[int] = Counter()
    wins_by_cat: Counter[int] = Counter()
    listed: list[str] = []
    knowledge_answer_f1: list[float] = []
    for r in rows:
        conv, ti = convs[r["conversation"]], index[r["conversation"]]
        gold_stems = content_stems(metrics.gold_for_category(r["gold"], r["category"]))
        evidence = set(r["evidence"])
        f1 = {s: r["answers"][s]["f1"] for s in systems}
        diff = f1["memoryos"] - f1[baseline]
        outcome["win" if diff > 0 else "loss" if diff < 0 else "tie"] += 1
        (wins_by_cat if diff > 0 else losses_by_cat if diff < 0 else Counter())[r["category"]] += 1
        for s in systems:
            ctx = r["contexts"][s]
            st, sm = stats[s], sums[s]
            st["contexts"] += 1
            secs = sections(ctx)
            know = [line for name in KNOWLEDGE_SECTIONS for line in secs.get(name, [])]
            conv_lines = conversation_lines(ctx)
            turn_lines = [line for line in conv_lines if not DATE_LINE.match(line)]
            dates = [line for line in conv_lines if DATE_LINE.match(line)]
            ids = ti.turn_ids(turn_lines)
            # knowledge and profile
            if know:
                st["with_knowledge"] += 1
                names_a = conv.speaker_a.lower() in r["question"].lower()
                names_b = conv.speaker_b.lower() in r["question"].lower()
                if names_b and not names_a:  # every knowledge line is about the user, speaker A
                    st["knowledge_about_other_person"] += 1
                sm["knowledge_tokens"] += counter.count("\n".join(know))
                sm["knowledge_lines"] += len(know)
                sm["knowledge_role_subject"] += sum(1 for k in know if ROLE_SUBJECT.match(k))
                sm["knowledge_relative_time"] += sum(1 for k in know if RELATIVE.search(k))
                sm["knowledge_with_gold_token"] += sum(1 for k in know if content_stems(k) & gold_stems)
                answer_stems = content_stems(r["answers"][s]["answer"])
                from_know = answer_stems & content_stems("\n".join(know))
                from_conv = answer_stems & content_stems("\n".join(turn_lines))
                if answer_stems and from_know - from_conv:
                    st["answer_uses_knowledge_only_words"] += 1
                    knowledge_answer_f1.append(f1[s])
            # sides and pages
            present = [d for d in ids if d is not None]
            sm["turn_lines"] += len(turn_lines)
            sm["unmatched_turn_lines"] += len(turn_lines) - len(present)
            pages_seen: dict[int, set[str]] = {}
            for d in present:
                pages_seen.setdefault(ti.page_of[d], set()).add(ti.side_of[d])
            both = [p for p, sides in pages_seen.items() if ti.pages[p].user_input and ti.pages[p].agent_response]
            sm["two_sided_pages"] += len(both)
            sm["two_sided_pages_one_side_shown"] += sum(1 for p in both if len(pages_seen[p]) == 1)
            sm["evidence_turns_shown"] += len(evidence & set(present))
            sm["evidence_turns_partner_missing"] += sum(
                1 for d in evidence & set(present)
                if ti.pages[ti.page_of[d]].user_input and ti.pages[ti.page_of[d]].agent_response
                and len(pages_seen[ti.page_of[d]]) == 1)
            # runs of one speaker across two pages: the other speaker's turn between them is hidden
            for (a, b) in zip(ids, ids[1:]):
                if a and b and ti.turns[a].speaker == ti.turns[b].speaker and ti.page_of[a] != ti.page_of[b]:
                    sm["same_speaker_across_pages"] += 1
            # relative times and dates
            sm["turns_relative_time"] += sum(1 for line in turn_lines if RELATIVE.search(line))
            sm["date_lines"] += len(dates)
            first_ev = next((i for i, d in enumerate(ids) if d in evidence), None)
            if first_ev is not None:
                st["evidence_in_context"] += 1
                sm["first_evidence_line"] += (len(know) + first_ev)
            # where a full date in the answer comes from: a knowledge line's date, the evidence's date line, another
            for when in {d.lower() for d in ANSWER_DATE.findall(r["answers"][s]["answer"])}:
                st["answer_dates"] += 1
                know_dates = {m.group(1).lower() for k in know if (m := KNOWLEDGE_DATE.match(k))}
                ev_dates = {short_date(ti.turns[d].timestamp).lower() for d in evidence if d in ti.turns}
                shown = {m.group(1).lower() for line in dates if (m := DATE_LINE.match(line))}
                gold_dates = {d.lower() for d in ANSWER_DATE.findall(str(r["gold"]))}
                first = ANSWER_DATE.search(ctx)
                if first and first.group(1).lower() == when and when not in gold_dates:
                    st["answer_date_first_in_context"] += 1
                if when in gold_dates:
                    st["answer_date_gold"] += 1
                elif when in know_dates and when not in ev_dates:
                    st["answer_date_from_knowledge"] += 1
                elif when in ev_dates:
                    st["answer_date_evidence_session"] += 1
                elif when in shown:
                    st["answer_date_other_session"] += 1
                else:
                    st["answer_date_elsewhere"] += 1
            if r["category"] == 2:
                st["temporal"] += 1
                answer = r["answers"][s]["answer"].lower()
                ev_dates = {short_date(ti.turns[d].timestamp).lower() for d in evidence if d in ti.turns}
                gold = str(r["gold"]).lower()
                if any(d in answer for d in ev_dates) and not any(d in gold for d in ev_dates):
                    st["temporal_answer_is_session_date"] += 1
                if any(RELATIVE.search(ti.turns[d].text) for d in evidence if d in ti.turns):
                    st["temporal_relative_evidence"] += 1
        if diff < 0 and len(listed) < listing:
            listed.append(f"- [{r['conversation']} #{r['index']}, cat {r['category']}] {r['question']} | gold: "
                          f"{r['gold']} | MemoryOS: {r['answers']['memoryos']['answer']!r} "
                          f"(F1 {f1['memoryos']:.2f}, in ctx {r['answers']['memoryos']['in_context']}) | "
                          f"{baseline}: {r['answers'][baseline]['answer']!r} (F1 {f1[baseline]:.2f}, in ctx "
                          f"{r['answers'][baseline]['in_context']})")
    n = len(rows)
    out = [f"# Reader analysis of {run} ({n} questions, MemoryOS against {baseline})", "",
           f"Outcome per question (LoCoMo F1): MemoryOS better {outcome['win']}, worse {outcome['loss']}, "
           f"equal {outcome['tie']}.",
           "Worse by category: " + ", ".join(f"cat {c}: {losses_by_cat[c]}" for c in sorted(losses_by_cat)) +
           "; better by category: " + ", ".join(f"cat {c}: {wins_by_cat[c]}" for c in sorted(wins_by_cat)) + ".",
           "", "| measure | MemoryOS | " + baseline + " |", "|---|---:|---:|"]

    def per(s: str, key: str, denom: str | int) -> str:
        d = stats[s][denom] if isinstance(denom, str) else denom
        v = sums[s][key] if key in sums[s] else stats[s][key]
        return f"{v / d:.2f}" if d else "–"

    def share(s: str, key: str, denom: str) -> str:
        d = sums[s][denom] if denom in sums[s] else stats[s][denom]
        v = sums[s][key] if key in sums[s] else stats[s][key]
        return f"{v}/{d} ({100 * v / d:.0f}%)" if d else "–"

    table = [
        ("contexts with profile/knowledge lines", lambda s: share(s, "with_knowledge", "contexts")),
        ("profile/knowledge tokens per context (when present)", lambda s: per(s, "knowledge_tokens", "with_knowledge")),
        ("contexts with knowledge about the user (speaker A) for a question about speaker B only",
         lambda s: share(s, "knowledge_about_other_person", "with_knowledge")),
        ("knowledge lines about 'User'/'Assistant' or a bare profile field",
         lambda s: share(s, "knowledge_role_subject", "knowledge_lines")),
        ("knowledge lines with an unresolved relative time", lambda s: share(s, "knowledge_relative_time", "knowledge_lines")),
        ("knowledge lines sharing a word with the gold answer",
         lambda s: share(s, "knowledge_with_gold_token", "knowledge_lines")),
        ("answers using words found only in knowledge lines",
         lambda s: share(s, "answer_uses_knowledge_only_words", "contexts")),
        ("turn lines per context", lambda s: per(s, "turn_lines", "contexts")),
        ("two-sided exchanges shown by one side only",
         lambda s: share(s, "two_sided_pages_one_side_shown", "two_sided_pages")),
        ("evidence turns shown without their exchange partner",
         lambda s: share(s, "evidence_turns_partner_missing", "evidence_turns_shown")),
        ("adjacent lines of one speaker from two exchanges, per context",
         lambda s: per(s, "same_speaker_across_pages", "contexts")),
        ("turns with a relative time, per context", lambda s: per(s, "turns_relative_time", "contexts")),
        ("date lines per context", lambda s: per(s, "date_lines", "contexts")),
        ("line of the first evidence turn (knowledge lines included)",
         lambda s: per(s, "first_evidence_line", "evidence_in_context")),
        ("temporal answers repeating the evidence's session date (gold differs)",
         lambda s: share(s, "temporal_answer_is_session_date", "temporal")),
        ("dates in answers: the gold date", lambda s: share(s, "answer_date_gold", "answer_dates")),
        ("dates in answers: the evidence's session date (not gold)",
         lambda s: share(s, "answer_date_evidence_session", "answer_dates")),
        ("dates in answers: a knowledge line's date", lambda s: share(s, "answer_date_from_knowledge", "answer_dates")),
        ("dates in answers: another date line of the context",
         lambda s: share(s, "answer_date_other_session", "answer_dates")),
        ("dates in answers: found nowhere above", lambda s: share(s, "answer_date_elsewhere", "answer_dates")),
        ("dates in answers: the first date of the context (not gold)",
         lambda s: share(s, "answer_date_first_in_context", "answer_dates")),
    ]
    for label, fn in table:
        out.append(f"| {label} | {fn('memoryos')} | {fn(baseline)} |")
    if knowledge_answer_f1:
        out += ["", f"Mean F1 of the MemoryOS answers using knowledge-only words: "
                    f"{sum(knowledge_answer_f1) / len(knowledge_answer_f1):.3f} (n={len(knowledge_answer_f1)})."]
    out += ["", f"Temporal questions whose evidence has a relative time: "
                f"{stats['memoryos']['temporal_relative_evidence']}/{stats['memoryos']['temporal']}."]
    if listed:
        out += ["", "Questions MemoryOS answers worse:", *listed]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="output folder of an answered bench run (questions.jsonl)")
    parser.add_argument("--data-path", default=None, help="locomo10.json (default as the bench)")
    parser.add_argument("--baseline", default="hybrid_rag")
    parser.add_argument("--list", type=int, default=15, help="how many lost questions to list")
    parser.add_argument("--answers", default=None,
                        help="answers.partial.jsonl of a run still going, read with this run's contexts")
    args = parser.parse_args(argv)
    print(analyse(Path(args.run), resolve_data_path(args.data_path), args.baseline, args.list,
                  Path(args.answers) if args.answers else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())

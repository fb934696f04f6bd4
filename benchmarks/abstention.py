"""Does ``get_response`` say it does not remember when memory holds no answer, and answer when it does?

    .venv/bin/python benchmarks/abstention.py --base-url http://127.0.0.1:8088/v1 [--model NAME]

The demo conversation (``memoryos_core/data/demo_conversation.json``) is ingested offline; then
``get_response`` is asked its six recall questions (the answer is in memory) and six questions about
things the conversation never mentions (the right reply is "I don't remember"). Reported: the
share of absent-answer questions answered with an admission, the share of present-answer questions
answered with the expected word, and the wrong guesses. A real model is needed (a scripted one
would measure the script); run it against a local server, never in the test suite.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from memoryos_core import MemoryConfig, Memoryos
from memoryos_core.cli import load_demo
from memoryos_core.validation import parse_timestamp

#: Questions about the demo user that the conversation never answers.
ABSENT = [
    "What is my blood type?",
    "What car do I drive?",
    "What was the name of my first teacher?",
    "Which football team do I support?",
    "What is my mother's name?",
    "How many siblings does my dog Biscuit have?",
]
_ADMITS = re.compile(r"\b(?:don't|do not|can't|cannot|couldn't)\s+(?:remember|recall|know|find|see)|\bno (?:record|"
                     r"information|memory|mention)|\bnot (?:sure|mentioned|in (?:my )?memory)|\bhaven't (?:told|mentioned|"
                     r"said)|\bdidn't (?:tell|mention|say)|\bnever (?:told|mentioned|said)", re.IGNORECASE)


def admits_not_knowing(answer: str) -> bool:
    return _ADMITS.search(answer) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", default="local")
    parser.add_argument("--model", default="gpt-4o-mini", help="model name sent (a local server ignores it)")
    parser.add_argument("--out", default=None, help="write the answers as JSON here")
    args = parser.parse_args(argv)
    demo = load_demo()
    with tempfile.TemporaryDirectory() as folder:
        offline = Memoryos(user_id="alex", data_storage_path=folder, background=False)
        for session in demo["sessions"]:
            base = parse_timestamp(session["date"])
            for i, turn in enumerate(session["turns"]):
                offline.add_memory(turn["user"], turn["assistant"], timestamp=base + 60 * i)
        offline.close()
        # A short-term window wide enough for the questions: no persona pass competes with the answers.
        memory = Memoryos(user_id="alex", data_storage_path=folder, background=False, openai_api_key=args.api_key,
                          openai_base_url=args.base_url, llm_model=args.model,
                          config=MemoryConfig(short_term_capacity=100))
        rows = []
        asked = [(q["question"].replace("Alex's", "my").replace("does Alex", "do I").replace("is Alex", "am I"),
                  q["expect"]) for q in demo["questions"]] + [(q, None) for q in ABSENT]
        for question, expect in asked:
            started = time.perf_counter()
            answer = memory.get_response(question)
            rows.append({"question": question, "expect": expect, "answer": answer,
                         "seconds": round(time.perf_counter() - started, 1), "admits": admits_not_knowing(answer),
                         "correct": expect is not None and expect.lower() in answer.lower()})
            print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
        memory.close()
    absent = [r for r in rows if r["expect"] is None]
    present = [r for r in rows if r["expect"] is not None]
    print(f"absent answer:  {sum(r['admits'] for r in absent)}/{len(absent)} said they do not remember;"
          f" {sum(not r['admits'] for r in absent)} guessed")
    print(f"present answer: {sum(r['correct'] for r in present)}/{len(present)} correct;"
          f" {sum(r['admits'] for r in present)} said they do not remember")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, ensure_ascii=False, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

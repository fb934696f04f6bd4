"""The ``memoryos`` command, run as a user runs it: a subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "memoryos"


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    proc = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, timeout=240)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_add_then_search_finds_the_lisbon_page(tmp_path: Path) -> None:
    data = str(tmp_path / "D")
    added = run("add", "--data", data, "--user", "U", "I moved to Lisbon last spring.", "Nice!")
    assert "stored pg_" in added.stdout
    for topic in ("board games", "a new recipe for soup"):
        run("add", "--data", data, "--user", "U", f"Let's talk about {topic}.", "Fun!")
    out = run("search", "--data", data, "--user", "U", "--json", "Where does the user live?")
    payload = json.loads(out.stdout)
    assert payload["query"] == "Where does the user live?"
    assert "Lisbon" in payload["results"][0]["memory"]
    assert {"id", "memory", "score", "type", "metadata", "created_at"} <= set(payload["results"][0])


def test_search_is_isolated_per_user(tmp_path: Path) -> None:
    data = str(tmp_path / "D")
    run("add", "--data", data, "--user", "alice", "My locker code is 8812.", "Got it.")
    out = run("search", "--data", data, "--user", "bob", "--json", "locker code")
    assert all("8812" not in r["memory"] for r in json.loads(out.stdout)["results"])


def test_profile_export_and_import(tmp_path: Path) -> None:
    data = str(tmp_path / "D")
    run("add", "--data", data, "--user", "U", "My name is Rosa and I live in Seville.", "Hola Rosa!",
        "--timestamp", "2024-03-01T10:00:00", "--meta", '{"session": "s1"}')
    exported = tmp_path / "u.json"
    run("export", "--data", data, "--user", "U", "-o", str(exported))
    dump = json.loads(exported.read_text())
    assert dump["pages"][0]["meta"] == {"session": "s1"}
    assert dump["pages"][0]["user_input"].startswith("My name is Rosa")
    imported = run("import", "--data", str(tmp_path / "D2"), "--user", "V", "--json", str(exported))
    assert json.loads(imported.stdout) == {"status": "success", "pages": 1}
    profile = run("profile", "--data", str(tmp_path / "D2"), "--user", "V", "--json")
    assert json.loads(profile.stdout)["user_id"] == "V"


def test_errors_are_clear_and_exit_nonzero(tmp_path: Path) -> None:
    bad = run("add", "--data", str(tmp_path), "--user", "../etc", "hi", "there", check=False)
    assert bad.returncode == 2 and "user_id" in bad.stderr and "Traceback" not in bad.stderr
    empty = run("add", "--data", str(tmp_path), "--user", "U", "", "", check=False)
    assert empty.returncode == 2 and "nothing to remember" in empty.stderr


@pytest.mark.slow
def test_demo_prints_profile_knowledge_and_recall(tmp_path: Path) -> None:
    out = run("demo", "--data", str(tmp_path / "demo")).stdout
    assert "User profile:" in out and "User knowledge:" in out and "Recall:" in out
    assert "location: Porto" in out  # the move superseded Lisbon
    assert "User is allergic to peanuts." in out
    found = int(out.strip().splitlines()[-1].split("/")[0])
    assert found >= 5
    data = json.loads(run("demo", "--data", str(tmp_path / "demo"), "--json").stdout)
    assert data["turns"] == 45 and data["mode"] == "offline-heuristic"
    assert data["tiers"]["short_term"] + data["tiers"]["mid_term"] == 45  # a rerun starts clean

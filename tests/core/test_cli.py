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
    found = int(next(line for line in out.splitlines() if "recall questions answered" in line).split("/")[0])
    assert found >= 5
    data = json.loads(run("demo", "--data", str(tmp_path / "demo"), "--json").stdout)
    assert data["turns"] == 45 and data["mode"] == "offline-heuristic"
    assert data["tiers"]["short_term"] + data["tiers"]["mid_term"] == 45  # a rerun starts clean


def test_demo_honours_user_and_prints_where_to_look(tmp_path: Path) -> None:
    data = str(tmp_path / "D")
    out = run("demo", "--data", data, "--user", "sam", "--json")
    payload = json.loads(out.stdout)
    assert payload["user_id"] == "sam" and payload["data"] == data
    assert payload["profile"]  # built offline
    profile = run("profile", "--data", data, "--user", "sam", "--assistant", payload["assistant_id"], "--json")
    assert json.loads(profile.stdout)["profile"] == payload["profile"]
    text = run("demo", "--data", data, "--user", "sam").stdout
    assert f"memoryos profile --data {data} --user sam" in text


def test_demo_is_offline_whatever_the_shell_holds(tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sk-bogus", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    proc = subprocess.run([str(BIN), "demo", "--data", str(tmp_path / "D"), "--json"], capture_output=True,
                          text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["mode"] == "offline-heuristic" and payload["profile"]
    assert "failed" not in proc.stderr


def test_demo_with_llm_reports_an_unreachable_endpoint_once(tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": "sk-bogus", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    proc = subprocess.run([str(BIN), "demo", "--llm", "--data", str(tmp_path / "D")], capture_output=True,
                          text=True, env=env, timeout=240)
    assert proc.returncode == 2
    assert proc.stderr.count("http://127.0.0.1:9/v1") == 1 and "unreachable" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_management_verbs(tmp_path: Path) -> None:
    data = str(tmp_path / "D")
    common = ("--data", data, "--user", "U")
    page_id = run("add", *common, "I keep bees on the roof.", "Lovely!").stdout.split()[-1]
    listed = json.loads(run("list", *common, "--json").stdout)["results"]
    assert [p["id"] for p in listed] == [page_id]
    assert json.loads(run("get", *common, page_id, "--json").stdout)["user_input"] == "I keep bees on the roof."
    assert json.loads(run("stats", *common, "--json").stdout)["tiers"]["short_term"] == 1
    run("delete", *common, page_id)
    assert run("get", *common, page_id, check=False).returncode == 2
    assert json.loads(run("history", *common, page_id, "--json").stdout)["results"][-1]["event"] == "DELETE"
    run("add", *common, "Second note.", "ok")
    assert run("forget-user", *common, check=False).returncode == 2  # needs --yes
    run("forget-user", *common, "--yes")
    assert json.loads(run("list", *common, "--json").stdout)["results"] == []
    assert run("--version").stdout.startswith("memoryos ")
    assert "most results" in run("search", "--help").stdout

"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:  # tests/ may or may not be a package
    from .scripted_openai import ScriptedOpenAI
except ImportError:
    from scripted_openai import ScriptedOpenAI

_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def scripted_openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOpenAI]:
    """A started scripted OpenAI-compatible server on 127.0.0.1; stopped after the test."""
    for name in _PROXY_VARS:  # a proxy from the environment must never see test traffic
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = ScriptedOpenAI(max_lifetime=120.0).start()
    try:
        yield server
    finally:
        server.stop()

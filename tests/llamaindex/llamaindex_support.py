"""Shared pieces of the LlamaIndex adapter tests: recording mock models and a seeded conversation.

The mocks record every prompt they receive and answer *from what they were shown*: asked for the
cat's name, they answer "Miso" only if "Miso" appears somewhere in their prompt. A fact that
reaches the model only through MemoryOS therefore shows up in the answer.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.mock import MockFunctionCallingLLM, MockLLM
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

FACT = "By the way, my cat is called Miso and she loves sardines."
QUESTION = "What is the name of my cat?"
FILLER_TOPICS = ["volcanoes", "jazz history", "sourdough baking", "chess openings", "the Roman empire",
                 "tide pools", "bicycle repair", "origami", "black holes", "tea ceremonies", "glaciers",
                 "typography"]
#: Turns between the fact and the question: more than the short-term window of 10 pages.
N_FILLERS = 11


def text_of(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(m.content or "" for m in messages)


def answer_for(prompt_text: str, question: str) -> str:
    """The mock's answer: facts it can see, never facts it cannot."""
    if "cat" in question.lower() and "name" in question.lower():
        return "Your cat is called Miso." if "Miso" in prompt_text else "I do not know the name of your cat."
    match = re.search(r"about (.+?)[.?!]?$", question)
    return f"Here is a short note about {match.group(1)}." if match else "Noted."


def last_user_text(messages: Sequence[ChatMessage]) -> str:
    for m in reversed(messages):
        if m.role == MessageRole.USER:
            return m.content or ""
    return ""


def filler(i: int) -> str:
    return f"Tell me about {FILLER_TOPICS[i % len(FILLER_TOPICS)]}."


class RecordingLLM(MockLLM):
    """A chat ``MockLLM`` that records every call and answers from its prompt.

    ``react=True`` answers in the ReAct format (``Thought: ... / Answer: ...``); with ``react_tool``
    set, the first step for the cat question calls that tool.
    """

    _calls: list = PrivateAttr(default_factory=list)
    _react: bool = PrivateAttr(default=False)
    _react_tool: Any = PrivateAttr(default=None)

    def __init__(self, react: bool = False, react_tool: str | None = None, **kwargs: Any) -> None:
        super().__init__(is_chat_model=True, **kwargs)
        self._react = react
        self._react_tool = react_tool

    @property
    def calls(self) -> list[tuple[str, Any]]:
        return self._calls

    @property
    def chats(self) -> list[list[ChatMessage]]:
        return [payload for kind, payload in self._calls if kind == "chat"]

    @property
    def completions(self) -> list[str]:
        return [payload for kind, payload in self._calls if kind == "complete"]

    def _answer(self, messages: Sequence[ChatMessage]) -> str:
        self._calls.append(("chat", [m.model_copy(deep=True) for m in messages]))
        question = last_user_text(messages)
        if self._react:
            users = [m.content or "" for m in messages if m.role == MessageRole.USER]
            questions = [u for u in users if not u.startswith("Observation:")]
            question = questions[-1] if questions else question
            observed = len(questions) < len(users)
            if self._react_tool and "cat" in question and not observed:
                return f"Thought: I should check the clock first.\nAction: {self._react_tool}\nAction Input: {{}}"
            return f"Thought: I can answer without using any more tools.\nAnswer: {answer_for(text_of(messages), question)}"
        return answer_for(text_of(messages), question)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=self._answer(messages)))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self.chat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        answer = self._answer(messages)

        def gen() -> ChatResponseGen:
            text = ""
            for word in answer.split(" "):
                delta = word if not text else " " + word
                text += delta
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        answer = self._answer(messages)

        async def gen() -> ChatResponseAsyncGen:
            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=answer), delta=answer)

        return gen()

    def _complete(self, prompt: str) -> str:
        self._calls.append(("complete", prompt))
        match = re.search(r"Follow Up Input:\s*(.+?)\s*\n", prompt)  # condense step: keep the question
        return match.group(1) if match else "Noted."

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._complete(prompt))

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._complete(prompt))


def recording_function_llm(tool_name: str = "get_time") -> tuple[MockFunctionCallingLLM, list[list[ChatMessage]]]:
    """A ``MockFunctionCallingLLM`` that records prompts; for the cat question it first calls ``tool_name``."""
    seen: list[list[ChatMessage]] = []

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        seen.append([m.model_copy(deep=True) for m in messages])
        question = last_user_text(messages)
        has_tool_result = any(m.role == MessageRole.TOOL for m in messages)
        if "cat" in question and kwargs.get("tools") and not has_tool_result:
            return ChatMessage(role=MessageRole.ASSISTANT, blocks=[
                ToolCallBlock(tool_call_id="call-1", tool_name=tool_name, tool_kwargs={})])
        return ChatMessage(role=MessageRole.ASSISTANT, content=answer_for(text_of(messages), question))

    return MockFunctionCallingLLM(response_generator=respond), seen


class StaticRetriever(BaseRetriever):
    """A document retriever for the context engines: always the same office-hours document."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        self.queries.append(query_bundle.query_str)
        return [NodeWithScore(node=TextNode(text="The office opens at 9am."), score=1.0)]


def drive_sync(chat: Callable[[str], Any]) -> str:
    """Fact, then ``N_FILLERS`` unrelated turns, then the question; returns the final answer."""
    chat(FACT)
    for i in range(N_FILLERS):
        chat(filler(i))
    return str(chat(QUESTION))


async def drive_async(achat: Callable[[str], Any]) -> str:
    await achat(FACT)
    for i in range(N_FILLERS):
        await achat(filler(i))
    return str(await achat(QUESTION))

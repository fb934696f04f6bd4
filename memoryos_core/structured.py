"""Getting JSON out of real models: tolerant extraction, then schema validation."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


class StructuredOutputError(ValueError):
    """The text holds no JSON value matching the expected schema."""


def extract_json(text: str) -> Any:
    """Find the JSON value in ``text``: bare, fenced, or wrapped in prose."""
    candidates: list[str] = [text.strip()]
    candidates += [m.strip() for m in _FENCE.findall(text)]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char in "{[":
            try:
                value, _ = decoder.raw_decode(text, start)
                return value
            except json.JSONDecodeError:
                continue
    raise StructuredOutputError("no JSON object found in the model's answer")


def parse_model(text: str, model: type[T]) -> T:
    """Parse and validate; the error message is written to be sent back to the model."""
    value = extract_json(text)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise StructuredOutputError(f"the JSON does not match the schema: {exc.errors(include_url=False)}") from exc


def json_schema_for(model: type[BaseModel]) -> dict[str, Any]:
    """A strict-mode-friendly JSON schema for response_format."""
    schema = model.model_json_schema()
    return {"name": model.__name__, "schema": schema}


def _retry_messages(messages: list[Any], answer: str, error: Exception) -> list[Any]:
    from .providers.base import ChatMessage

    return [*messages, ChatMessage("assistant", answer[:4000]),
            ChatMessage("user", f"That answer could not be used: {error}. Reply again with valid JSON only.")]


def call_structured(llm: Any, messages: list[Any], model: type[T], *, purpose: str) -> T:
    """One call, parsed and validated; on a bad answer one retry that quotes the validation error."""
    schema = json_schema_for(model)
    answer = llm.complete(messages, purpose=purpose, json_schema=schema).text
    try:
        return parse_model(answer, model)
    except StructuredOutputError as first:
        retry = llm.complete(_retry_messages(messages, answer, first), purpose=purpose, json_schema=schema).text
        return parse_model(retry, model)

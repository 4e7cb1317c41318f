"""The LLM proposer: any litellm model, prompts from data files, forgiving edit parsing, usage and cost.

litellm is imported lazily (it takes seconds) with its network price-map fetch switched off and its debug
printing suppressed. Transient failures (rate limits, server errors, timeouts, connection errors) are retried
with backoff; if they persist the proposal is marked fatal, since further rounds would only fail the same way.
A reply that is malformed or does not apply is not fatal: it becomes feedback for the next round.

The model is an outside party: a reply over `MAX_REPLY_CHARS` is refused before anything parses it, an edit is
never applied by reading a secret file (see repair.secrets), and credential values (the API key, credential
environment variables) are masked in every prompt sent and every error reported.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenloop import project
from greenloop.repair import secrets
from greenloop.repair.propose import edits
from greenloop.repair.propose.llm import prompts
from greenloop.repair.propose.context import Context
from greenloop.repair.records import Proposal, Usage

_litellm: Any = None
MAX_REPLY_CHARS = 64 * 1024  # ~16k tokens: far above max_tokens, far below what could hurt
TRANSIENT = ("RateLimitError", "InternalServerError", "ServiceUnavailableError", "Timeout", "APIConnectionError",
             "APIError")


def litellm() -> Any:
    """Import litellm once, quietly and without network access at import."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_LOG", "ERROR")
        import litellm as module

        module.suppress_debug_info = True
        module.telemetry = False
        module.drop_params = True
        _litellm = module
    return _litellm


@dataclass
class LLMSettings:
    model: str
    api_base: str | None = None
    api_key: str | None = None  # None: litellm reads the usual environment variables (OPENAI_API_KEY, ...)
    critic_model: str | None = None
    timeout: float = 120.0  # seconds per call
    retries: int = 2  # extra tries after a transient failure
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    max_tokens: int = 2048
    temperature: float = 0.2


class ModelError(Exception):
    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class ReplyTooLong(Exception):
    """A reply refused unread: its size alone says it is no small edit (or no honest server)."""


class LLMProposer:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.name = f"llm:{settings.model}"

    async def _call(self, model: str, messages: list[dict[str, str]], usage: Usage,
                    known: secrets.Redactor) -> str:
        llm = await asyncio.to_thread(litellm)  # the first import takes seconds: never on the event loop
        redact = secrets.Redactor.gather(self.settings.api_key).also(known)
        messages = [{**m, "content": redact(m["content"])} for m in messages]
        kwargs: dict[str, Any] = {"model": model, "messages": messages, "timeout": self.settings.timeout,
                                  "max_tokens": self.settings.max_tokens, "temperature": self.settings.temperature,
                                  "num_retries": 0}
        if self.settings.api_base:
            kwargs["api_base"] = self.settings.api_base
        if self.settings.api_key:
            kwargs["api_key"] = self.settings.api_key
        elif self.settings.api_base and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "not-needed"  # local OpenAI-compatible servers want some key, any key
        delay = self.settings.backoff
        for attempt in range(self.settings.retries + 1):
            started = time.monotonic()
            try:
                response = await asyncio.wait_for(llm.acompletion(**kwargs), self.settings.timeout + 5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # litellm maps provider errors to its own exception classes
                usage.seconds += time.monotonic() - started
                name = type(exc).__name__
                transient = name in TRANSIENT or isinstance(exc, asyncio.TimeoutError)
                detail = redact(str(exc)).strip()
                message = f"{name}: {detail.splitlines()[0][:300] if detail else 'no detail'}"
                if not transient or attempt == self.settings.retries:
                    raise ModelError(f"model call failed after {attempt + 1} tries: {message}", transient) from exc
                await asyncio.sleep(delay)
                delay *= 2
                continue
            usage.seconds += time.monotonic() - started
            usage.calls += 1
            counted = getattr(response, "usage", None)
            if counted is not None:
                usage.tokens_in += int(getattr(counted, "prompt_tokens", 0) or 0)
                usage.tokens_out += int(getattr(counted, "completion_tokens", 0) or 0)
            try:
                usage.cost += float(llm.completion_cost(completion_response=response) or 0.0)
            except Exception:  # unknown model: no price; tokens still count
                pass
            try:
                reply = response.choices[0].message.content or ""
            except (AttributeError, IndexError):
                reply = ""
            if len(reply) > MAX_REPLY_CHARS:
                raise ReplyTooLong(f"the reply was {len(reply)} characters long, over the cap of {MAX_REPLY_CHARS}: "
                                   "it was not read; answer with a hypothesis and a small edit only")
            return reply
        raise AssertionError("unreachable")

    async def propose(self, context: Context) -> Proposal:
        usage = Usage()
        fields = context.fields()
        critique = ""
        try:
            if self.settings.critic_model:
                hypothesis = await self._call(self.settings.critic_model,
                                              [{"role": "user", "content": prompts.render("critique", fields)}], usage,
                                              context.redact)
                critique = f"## A reviewer's root-cause hypothesis\n{hypothesis.strip()}\n"
            messages = [
                {"role": "system", "content": prompts.load("system")},
                {"role": "user", "content": prompts.render("repair", {**fields, "critique": critique})},
            ]
            reply = await self._call(self.settings.model, messages, usage, context.redact)
        except ModelError as exc:
            return Proposal(None, self.name, error=str(exc), fatal=True, usage=usage)
        except ReplyTooLong as exc:
            return Proposal(None, self.name, error=str(exc), usage=usage)
        proposal = Proposal(None, self.name, reply=reply, hypothesis=_hypothesis(reply), usage=usage)
        try:
            blocks = edits.parse(reply)
            proposal.patch = edits.apply(context.root, blocks, lambda path: _read(context, path))
        except edits.EditError as exc:
            proposal.error = str(exc)
        return proposal


def _read(context: Context, path: Path) -> str:
    """A file's text to apply an edit to; a secret file is refused unread, so no diff can quote it."""
    pattern = secrets.secret_pattern(context.root, path, context.secret_files or ())
    if pattern:
        raise edits.EditError(secrets.refusal(context.rel(path), pattern))
    return read_source(path)


def read_source(path: Path) -> str:
    """A file's text, or an EditError naming why it cannot be read (not UTF-8, say)."""
    text, problem = project.read_text(path)
    if problem:
        raise edits.EditError(problem)
    return text


def _hypothesis(reply: str) -> str:
    for line in reply.splitlines():
        stripped = line.strip().lstrip("#*1. ").strip()
        if stripped.lower().startswith("hypothesis"):
            return stripped.split(":", 1)[-1].strip() or stripped
    return ""

"""One repair, built from the settings in force: where the CLI, the server and `greenloop bench` get their
proposer, judge, budget and loop.

Why one place: each face used to assemble the loop itself, and they drifted (a judge without the `sandbox`
setting, a loop without the editor's `secret_files`). A face now says only what is its own: the project's
interpreter, which proposers (`auto` unless the person chose), the ledger to record into and where events go.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from greenloop import config
from greenloop.repair.check.judge import JudgeSettings
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.events import Listener
from greenloop.repair.loop import Budget, RepairLoop
from greenloop.repair.propose.base import Proposer
from greenloop.repair.propose.builtin.search import BuiltinProposer
from greenloop.repair.propose.chain import ChainProposer
from greenloop.repair.propose.llm.proposer import LLMProposer, LLMSettings


def build_proposer(names: str, settings: config.Settings) -> Proposer:
    """`auto`, `builtin`, `llm` or a comma-separated chain. Raises ValueError with a message for the user."""
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    if chosen == ["auto"]:
        chosen = ["llm"] if settings.model else ["builtin"]
    proposers: list[Proposer] = []
    for name in chosen:
        if name == "builtin":
            proposers.append(BuiltinProposer())
        elif name == "llm":
            if not settings.model:
                raise ValueError("the llm proposer needs a model: pass --model (any litellm model string) or set "
                                 "`model` in [tool.greenloop]")
            proposers.append(LLMProposer(LLMSettings(model=settings.model, api_base=settings.api_base,
                                                     critic_model=settings.critic_model)))
        else:
            raise ValueError(f"unknown proposer {name!r}: use builtin, llm, or builtin,llm")
    if not proposers:
        raise ValueError("no proposer named")
    return proposers[0] if len(proposers) == 1 else ChainProposer(proposers)


@dataclass(frozen=True)
class RepairSetup:
    """What a repair of the project at `root` runs with. `python`: the project's interpreter, as the face found
    it; `proposers`: as `build_proposer` takes them."""

    root: Path
    settings: config.Settings
    python: str
    proposers: str = "auto"

    @property
    def judge(self) -> JudgeSettings:
        s = self.settings
        return JudgeSettings(self.python, s.test_timeout, s.type_checker, s.sandbox)

    @property
    def budget(self) -> Budget:
        s = self.settings
        return Budget(s.max_rounds, s.budget_usd, s.budget_tokens, s.repair_timeout)

    def loop(self, ledger: Ledger | None = None, on_event: Listener | None = None) -> RepairLoop:
        """A loop ready to run. Raises ValueError (a message for the user) when the proposers cannot be built."""
        return RepairLoop(self.root, build_proposer(self.proposers, self.settings), self.judge, self.budget, ledger,
                          on_event, self.settings.secret_files)

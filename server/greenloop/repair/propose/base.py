"""The proposer interface: given the context of a round, return a Proposal (a patch, or why there is none)."""

from __future__ import annotations

from typing import Protocol

from greenloop.repair.propose.context import Context
from greenloop.repair.records import Proposal


class Proposer(Protocol):
    name: str

    async def propose(self, context: Context) -> Proposal:
        """Never raises for the model's or the project's sake: failures come back as Proposal.error."""
        ...

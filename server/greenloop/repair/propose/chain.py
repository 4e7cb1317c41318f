"""Proposers in sequence: the built-in search first (cheap fixes cost no tokens), then a model.

The chain moves to the next proposer as soon as the current one says it is exhausted, within the same round.
"""

from __future__ import annotations

from greenloop.repair.propose.context import Context
from greenloop.repair.propose.base import Proposer
from greenloop.repair.records import Proposal


class ChainProposer:
    def __init__(self, proposers: list[Proposer]) -> None:
        self.proposers = proposers
        self.index = 0
        self.name = ",".join(p.name for p in proposers)

    async def propose(self, context: Context) -> Proposal:
        screened = 0
        while True:
            proposal = await self.proposers[self.index].propose(context)
            proposal.screened += screened
            if proposal.exhausted and self.index + 1 < len(self.proposers):
                screened = proposal.screened
                self.index += 1
                continue
            return proposal

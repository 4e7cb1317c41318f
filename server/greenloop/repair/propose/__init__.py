"""Proposers: who suggests the next patch. One small interface, several engines behind it."""

from greenloop.repair.propose.base import Proposer

__all__ = ["Proposer"]

"""Decoding over a model-agnostic step function: greedy (sampling and beam search come with the
sequence models)."""

from dlcore.decode.greedy import greedy_decode

__all__ = ["greedy_decode"]

"""Convolutional models (curriculum §3b)."""

from dlcore.models.cnn.simple_cnn import SimpleCNN

__all__ = ["SimpleCNN"]

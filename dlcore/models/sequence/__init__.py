"""Sequence models over token ids (curriculum §3c): the RNN text classifier (ARC-17..20), the RNN
language model (ARC-17) and the seq2seq encoder-decoder with or without attention (ARC-21)."""

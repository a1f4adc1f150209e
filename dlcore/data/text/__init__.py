"""dlcore.data.text: text corpora (SST-2, Tiny Shakespeare, Multi30k), tokenizers (char, word,
BPE), the fingerprinted `Vocab`, padding and the length-bucketed `BucketLoader`, and a disk
cache for tokenized arrays. Part of the dlcore.data leaf layer (numpy, stdlib, `tokenizers`).
"""

from dlcore.data.text.batching import BucketLoader, pad_sequences
from dlcore.data.text.cache import cache_root, cached_arrays, cached_json, file_sha256
from dlcore.data.text.corpora import (MULTI30K_SPLITS, SST2_SPLITS, read_parallel, read_sst2,
                                      read_text, read_tiny_shakespeare, split_text)
from dlcore.data.text.tokenizer import (KINDS, BpeTokenizer, char_tokenize, make_tokenizer,
                                        word_tokenize)
from dlcore.data.text.vocab import RESERVED, SPECIALS, Vocab

__all__ = [
    "KINDS", "MULTI30K_SPLITS", "RESERVED", "SPECIALS", "SST2_SPLITS", "BpeTokenizer",
    "BucketLoader", "Vocab", "cache_root", "cached_arrays", "cached_json", "char_tokenize",
    "file_sha256", "make_tokenizer", "pad_sequences", "read_parallel", "read_sst2", "read_text",
    "read_tiny_shakespeare", "split_text", "word_tokenize",
]

"""Text utilities: a word tokenizer, URL slugs and line wrapping."""
from .tokenize import ngrams, tokenize, top_words
from .slug import ascii_fold, slugify, unique_slug
from .wrap import truncate, wrap

__all__ = ["ngrams", "tokenize", "top_words", "ascii_fold", "slugify", "unique_slug", "truncate", "wrap"]

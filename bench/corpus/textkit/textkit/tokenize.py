"""A word tokenizer and n-gram helpers."""
import re
from collections import Counter

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
STOPWORDS = frozenset({"a", "an", "and", "in", "of", "or", "the", "to"})


def tokenize(text, drop_stopwords=False):
    """Lower-case words of `text`; an apostrophe inside a word is kept ("don't")."""
    words = _WORD.findall(text.lower())
    if drop_stopwords:
        words = [w for w in words if w not in STOPWORDS]
    return words


def ngrams(tokens, n):
    """All runs of `n` consecutive tokens, as tuples, in order."""
    if n < 1:
        raise ValueError("n must be at least 1")
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def top_words(text, k, drop_stopwords=True):
    """The `k` most frequent words as (word, count) pairs; ties are broken alphabetically."""
    counts = Counter(tokenize(text, drop_stopwords))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return ranked[:k]

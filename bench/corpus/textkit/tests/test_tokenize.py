import pytest

from textkit import ngrams, tokenize, top_words


def test_tokenize_lowercases_and_splits_on_punctuation():
    assert tokenize("Hello, World! 42 times.") == ["hello", "world", "42", "times"]


def test_tokenize_keeps_inner_apostrophes():
    assert tokenize("Don't stop 'quoted'") == ["don't", "stop", "quoted"]


def test_tokenize_drops_stopwords_on_request():
    assert tokenize("The cat and the hat", drop_stopwords=True) == ["cat", "hat"]


def test_bigrams():
    assert ngrams(["a", "b", "c"], 2) == [("a", "b"), ("b", "c")]


def test_ngrams_rejects_zero():
    with pytest.raises(ValueError):
        ngrams(["a"], 0)


def test_top_words_breaks_ties_alphabetically():
    assert top_words("pear apple pear fig apple fig kiwi pear", 3) == [("pear", 3), ("apple", 2), ("fig", 2)]

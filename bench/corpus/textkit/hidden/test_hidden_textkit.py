from textkit import ngrams, slugify, tokenize, truncate, unique_slug, wrap


def test_hidden_ngram_sizes():
    tokens = ["to", "be", "or", "not"]
    assert ngrams(tokens, 1) == [("to",), ("be",), ("or",), ("not",)]
    assert ngrams(tokens, 3) == [("to", "be", "or"), ("be", "or", "not")]
    assert ngrams(tokens, 4) == [("to", "be", "or", "not")]
    assert ngrams(tokens, 5) == []


def test_hidden_stopwords_kept_by_default_and_dropped_on_request():
    text = "A tale of two cities in the rain"
    assert tokenize(text) == ["a", "tale", "of", "two", "cities", "in", "the", "rain"]
    assert tokenize(text, drop_stopwords=True) == ["tale", "two", "cities", "rain"]


def test_hidden_wrap_exact_fits():
    assert wrap("ab cd ef gh", 5) == ["ab cd", "ef gh"]
    assert wrap("ab cd ef gh", 4) == ["ab", "cd", "ef", "gh"]
    assert wrap("xy z", 4) == ["xy z"]
    assert all(len(line) <= 11 for line in wrap("the quick brown fox jumps over the lazy dog", 11))
    assert wrap("the quick brown fox jumps over the lazy dog", 11) == [
        "the quick", "brown fox", "jumps over", "the lazy", "dog"]


def test_hidden_slug_length_limit_is_inclusive():
    assert slugify("one two three", max_length=13) == "one-two-three"
    assert slugify("one two three", max_length=12) == "one-two"
    assert slugify("one two three", max_length=7) == "one-two"
    assert slugify("one two three", max_length=6) == "one"
    assert len(slugify("word " * 30)) <= 50


def test_hidden_unique_slug_respects_length():
    slug = unique_slug("abc def", {"abc-def"}, max_length=7)
    assert slug == "abc-d-2"


def test_hidden_truncate_lengths():
    text = "The quick brown fox"
    for width in range(4, len(text)):
        out = truncate(text, width)
        assert len(out) == width
        assert out.endswith("...")
        assert text.startswith(out[:-3])
    assert truncate(text, 10, ellipsis="~") == "The quick~"
    assert truncate(text, 2) == ".."

from textkit import ascii_fold, slugify, unique_slug


def test_ascii_fold_strips_accents():
    assert ascii_fold("Crème brûlée") == "Creme brulee"


def test_slugify_basic():
    assert slugify("  Hello, World!  ") == "hello-world"


def test_slugify_folds_accents():
    assert slugify("Crème Brûlée recipe") == "creme-brulee-recipe"


def test_slugify_cuts_between_words():
    assert slugify("Hello big world", max_length=9) == "hello-big"


def test_slugify_truncates_a_single_long_word():
    assert slugify("Supercalifragilistic", max_length=5) == "super"


def test_unique_slug_adds_a_counter():
    assert unique_slug("My Post", {"my-post", "my-post-2"}) == "my-post-3"

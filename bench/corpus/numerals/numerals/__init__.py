"""Number notations: Roman numerals, bases 2 to 36 and English words."""
from .bases import convert, from_base, to_base
from .roman import from_roman, to_roman
from .words import to_words

__all__ = ["convert", "from_base", "to_base", "from_roman", "to_roman", "to_words"]

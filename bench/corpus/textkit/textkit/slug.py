"""URL slugs."""
import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def ascii_fold(text):
    """Strip accents and other combining marks: "Crème brûlée" -> "Creme brulee"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slugify(text, max_length=50, sep="-"):
    """Lower-case ASCII words of `text` joined by `sep`.

    The slug is at most `max_length` characters long and is only cut between words, except
    that a single over-long first word is truncated rather than dropped.
    """
    words = [w for w in _NON_ALNUM.split(ascii_fold(text).lower()) if w]
    slug = ""
    for word in words:
        candidate = slug + sep + word if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:max_length]
    return slug


def unique_slug(text, taken, max_length=50):
    """A slug for `text` not in `taken`: "title", then "title-2", "title-3", ..."""
    base = slugify(text, max_length)
    slug = base
    n = 2
    while slug in taken:
        suffix = f"-{n}"
        slug = base[:max_length - len(suffix)] + suffix
        n += 1
    return slug

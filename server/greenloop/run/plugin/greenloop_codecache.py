"""Compiled project modules kept between test runs, keyed by their exact text.

Every run greenloop starts imports the project afresh (a forked child of the warm worker, a cold pytest, each
pytest-xdist worker), so that the saved text is what runs. Without bytecode caches (greenloop's children never
write `__pycache__`: a timestamp-checked `.pyc` cannot tell apart two saves within the same second, and many
machines set PYTHONDONTWRITEBYTECODE) each run compiles every project module it imports: 0.4 s of networkx's
0.65 s import. This cache stores each compiled module under a hash of its path and its source bytes, so a
module is compiled once per text, whichever process met it first, and a cached entry can never stand for other
text. Only files under the run's directory (the project) are cached: installed packages have their own `.pyc`.

Test modules and conftest files are compiled by pytest's assertion rewriter instead (about 0.5 s of collecting
networkx's 17 most focused test modules). Their rewritten code is cached the same way, by wrapping pytest's
`_rewrite_test` (private, but stable from pytest 7 to 9: `(path, config) -> (stat or source hash, code)`); the key
includes pytest's version and whether the assertion-pass hook is on, which change the rewritten code. If that
function is missing or returns something else, tests are rewritten as pytest always does.

Runs in the project's interpreter (standard library only). Active when GREENLOOP_CODE_CACHE names a directory;
read at each import, so the warm worker's children, which get the variable per run, use it. Any failure to read
or write the cache falls back to Python's own loading.
"""

import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
import types

VARIABLE = "GREENLOOP_CODE_CACHE"
VERSIONS_KEPT = 4  # texts of one file kept (a repair tries many candidates of the same file)
_TAG = "%s-%s" % (sys.implementation.cache_tag, importlib.util.MAGIC_NUMBER.hex())
_original_get_code = importlib.machinery.SourceFileLoader.get_code


def _entry(directory, path, source):
    folder = os.path.join(directory, _TAG, hashlib.blake2b(path.encode("utf-8", "surrogateescape"),
                                                           digest_size=10).hexdigest())
    return folder, os.path.join(folder, hashlib.blake2b(source, digest_size=16).hexdigest())


def _cache_for(path):
    """The cache directory when it is on and `path` is the project's (under the run's directory), else None."""
    directory = os.environ.get(VARIABLE)
    return directory if directory and path.startswith(os.getcwd() + os.sep) else None


def _load(entry, labelled=False):
    """The code `_store` kept in `entry` (with its label: a `(label, code)` pair), or None when the entry is absent
    or holds anything else (partial, written by another Python or another program): the caller then compiles."""
    try:
        with open(entry, "rb") as cached:
            kept = marshal.loads(cached.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if labelled:
        code = kept[1] if isinstance(kept, tuple) and len(kept) == 2 else None
    else:
        code = kept
    return kept if isinstance(code, types.CodeType) else None


def _store(folder, entry, code):
    try:
        os.makedirs(folder, exist_ok=True)
        partial = "%s.%d.tmp" % (entry, os.getpid())
        with open(partial, "wb") as out:
            out.write(marshal.dumps(code))
        os.replace(partial, entry)  # atomic: a reader sees the whole entry or none
        versions = sorted((os.path.join(folder, name) for name in os.listdir(folder) if not name.endswith(".tmp")),
                          key=lambda p: os.stat(p).st_mtime_ns)
        for old in versions[:-VERSIONS_KEPT]:
            os.unlink(old)
    except (OSError, ValueError):  # read-only, full, raced by another process: the next run compiles again
        pass


def get_code(self, fullname):
    path = self.get_filename(fullname)
    directory = _cache_for(path) if path.endswith(".py") else None
    if directory is None:
        return _original_get_code(self, fullname)
    try:
        source = self.get_data(path)
    except OSError:
        return _original_get_code(self, fullname)
    folder, entry = _entry(directory, path, source)
    code = _load(entry)
    if code is not None:
        return code
    code = self.source_to_code(source, path)
    _store(folder, entry, code)
    return code


def precompile(path):
    """Compile a project module into the cache now, as `get_code` would on import (same key, same code): the warm
    worker does this for a saved file while greenloop still selects tests, so the run that imports it finds it
    compiled (more-itertools' 175 KB `more.py`: 20 ms off the run). A file that does not compile is left to the run,
    which reports it; a path spelled otherwise than the import finds it only misses the cache."""
    directory = os.environ.get(VARIABLE)
    if not directory or not path.endswith(".py"):
        return
    try:
        with open(path, "rb") as file:
            source = file.read()
        folder, entry = _entry(directory, path, source)
        if not os.path.exists(entry):
            _store(folder, entry, importlib.machinery.SourceFileLoader("_", path).source_to_code(source, path))
    except (OSError, SyntaxError, ValueError):
        pass


def _cached_rewrite(original):
    def rewrite_test(fn, config):
        path = str(fn)
        directory = _cache_for(path)
        if directory is None:
            return original(fn, config)
        try:
            source = fn.read_bytes()
            hook = bool(config.getini("enable_assertion_pass_hook")) if config is not None else False
        except (OSError, ValueError):
            return original(fn, config)
        version = getattr(sys.modules.get("pytest"), "__version__", "?")
        folder, entry = _entry(directory, "pytest-%s-%s:%s" % (version, hook, path), source)
        cached = _load(entry, labelled=True)
        if cached is not None:
            kind, code = cached
            try:
                return (importlib.util.source_hash(source) if kind == "hash" else os.stat(path)), code
            except OSError:
                pass
        first, code = original(fn, config)
        try:
            unchanged = fn.read_bytes() == source  # what pytest read is what the key says
        except OSError:
            unchanged = False
        if unchanged and isinstance(first, (bytes, os.stat_result)):
            _store(folder, entry, ("hash" if isinstance(first, bytes) else "stat", code))
        return first, code

    rewrite_test.greenloop = True
    return rewrite_test


def install():
    """Route project modules' loading through the cache (once per process; harmless when inactive)."""
    if importlib.machinery.SourceFileLoader.get_code is not get_code:
        importlib.machinery.SourceFileLoader.get_code = get_code
    rewrite = sys.modules.get("_pytest.assertion.rewrite")
    original = getattr(rewrite, "_rewrite_test", None)
    if callable(original) and not getattr(original, "greenloop", False):
        rewrite._rewrite_test = _cached_rewrite(original)

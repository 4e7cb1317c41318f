"""What the VS Code end-to-end test needs besides the browser: the tools it runs on, code-server and the extension's
.vsix (both built once into a cache outside the repository), and a code-server process that leaves nothing behind.

The cache folder is `$GREENLOOP_TEST_CACHE` (default `~/.cache/greenloop-tests`, or under `$XDG_CACHE_HOME`):

- `code-server-<version>/`: `npm install code-server@<version>`, made to work offline apart from the npm registry
  (see docs/editors.md: root install scripts, ripgrep pre-seeded from Debian's binary instead of downloaded);
- `vscode-extension/<hash of editors/vscode>/greenloop.vsix`: `npm ci` and `npm run package` (type check, esbuild
  bundle, vsce) in a copy of editors/vscode, so the repository gets no node_modules.

A missing tool (node 20 and npm, Debian's chromium, the npm registry when a cache is cold) skips the test, except
under CI=true, where it fails it: CI must really run it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from demokit import REPO

EXTENSION = REPO / "editors" / "vscode"
CODE_SERVER_VERSION = "4.100.3"  # VS Code 1.100.3; the newest code-server needs node 24
# What code-server 4.100.3's VS Code pins (lib/vscode/npm-shrinkwrap.json and @vscode/ripgrep's postinstall.js):
# its install script looks for this archive in os.tmpdir() before downloading it from GitHub.
RIPGREP_PACKAGE = "1.15.11"
RIPGREP_RELEASE = "v13.0.0-10"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]
_BUILD_IGNORED = {"node_modules", "dist", ".vscode-test"}


def unavailable(reason: str) -> None:
    """Skip (a developer's machine may lack the tool), but fail under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and the VS Code end-to-end test cannot run: {reason}")
    pytest.skip(reason)


def cache_root() -> Path:
    configured = os.environ.get("GREENLOOP_TEST_CACHE")
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") \
        / "greenloop-tests"
    base.mkdir(parents=True, exist_ok=True)
    return base


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One builder at a time per cache entry (parallel test workers, two checkouts)."""
    with (cache_root() / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def node_tools() -> tuple[str, str]:
    """node (major version 20, which code-server 4.100.3 requires) and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed to build the extension and run code-server (install node 20)")
    assert node is not None and npm is not None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if not version.startswith("v20."):
        unavailable(f"code-server {CODE_SERVER_VERSION} needs node 20, and node is {version or 'unknown'}")
    return node, npm


def chromium() -> Path:
    if not CHROMIUM.exists():
        unavailable("Debian's chromium (/usr/bin/chromium) is needed to drive code-server: apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the playwright package is needed: install the dev extras")
    return CHROMIUM


def _npm_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "npm_config_audit": "false", "npm_config_fund": "false",
            "npm_config_update_notifier": "false", **extra}


def _registry_reachable(npm: str) -> None:
    try:
        done = subprocess.run([npm, "ping"], capture_output=True, text=True, timeout=60, env=_npm_env())
    except subprocess.TimeoutExpired:
        unavailable("the npm registry did not answer `npm ping` within 60 s (needed once, to fill the cache)")
    if done.returncode != 0:
        unavailable(f"the npm registry is not reachable (needed once, to fill the cache): {done.stderr[-500:]}")


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float, what: str) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise AssertionError(f"{what} failed ({' '.join(command)}, exit {done.returncode}):\n"
                             f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def _seed_ripgrep(folder: Path) -> None:
    """Put Debian's rg where @vscode/ripgrep's install script looks before it downloads one (`$TMPDIR`)."""
    rg = shutil.which("rg")
    if rg is None:
        unavailable("ripgrep (rg) is needed to install code-server offline: apt-get install ripgrep")
    machine = os.uname().machine
    target = {"x86_64": "x86_64-unknown-linux-musl", "aarch64": "aarch64-unknown-linux-musl"}.get(machine)
    if target is None:
        unavailable(f"no ripgrep seed for {machine}")
    cache = folder / f"vscode-ripgrep-cache-{RIPGREP_PACKAGE}"
    cache.mkdir(parents=True, exist_ok=True)
    with tarfile.open(cache / f"ripgrep-{RIPGREP_RELEASE}-{target}.tar.gz", "w:gz") as archive:
        archive.add(str(rg), arcname="rg")


def code_server() -> Path:
    """code-server's entry point (run it with node), installed into the cache on first use."""
    node, npm = node_tools()
    home = cache_root() / f"code-server-{CODE_SERVER_VERSION}"
    entry = home / "node_modules" / "code-server" / "out" / "node" / "entry.js"
    with _locked(home.name):
        if (home / "installed").exists() and entry.exists():
            return entry
        _registry_reachable(npm)
        if not shutil.which("krb5-config") and not Path("/usr/include/krb5.h").exists():
            unavailable("libkrb5-dev is needed to build code-server's kerberos module: apt-get install libkrb5-dev")
        partial = home.with_name(home.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        tmp = partial / "tmp"
        _seed_ripgrep(tmp)
        (partial / "package.json").write_text(json.dumps({"name": "greenloop-test-code-server", "private": True}))
        env = _npm_env(npm_config_unsafe_perm="true", npm_config_yes="true", TMPDIR=str(tmp))
        _run([npm, "install", "--no-save", f"code-server@{CODE_SERVER_VERSION}"], partial, env, 1200,
             "installing code-server")
        if not (partial / "node_modules" / "code-server" / "lib" / "vscode" / "node_modules").is_dir():
            raise AssertionError("code-server installed without its VS Code modules (its postinstall did not run)")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        partial.rename(home)
        (home / "installed").write_text(f"{CODE_SERVER_VERSION} with {node}\n")
        return entry


def _extension_files() -> list[Path]:
    files = []
    for path in sorted(EXTENSION.rglob("*")):
        rel = path.relative_to(EXTENSION)
        if path.is_file() and not (_BUILD_IGNORED & set(rel.parts)) and path.suffix != ".vsix":
            files.append(path)
    return files


def extension_hash() -> str:
    digest = hashlib.sha256()
    for path in _extension_files():
        digest.update(path.relative_to(EXTENSION).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def extension_vsix() -> Path:
    """editors/vscode packaged (npm ci, tsc --noEmit, esbuild, vsce), cached by a hash of its files."""
    _, npm = node_tools()
    builds = cache_root() / "vscode-extension"
    key = extension_hash()
    done = builds / key / "greenloop.vsix"
    with _locked("vscode-extension"):
        if done.exists():
            return done
        _registry_reachable(npm)
        work = builds / f"{key}.partial"
        shutil.rmtree(work, ignore_errors=True)
        for path in _extension_files():
            target = work / path.relative_to(EXTENSION)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        env = _npm_env()
        _run([npm, "ci"], work, env, 900, "npm ci in editors/vscode")
        _run([npm, "run", "package"], work, env, 600, "npm run package in editors/vscode")
        for old in builds.iterdir():  # one build is enough: the cache does not grow with every edit
            if old != work and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        work.rename(builds / key)
        return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def processes_in(folder: Path) -> list[int]:
    """Processes of ours whose working directory is inside `folder` (what a leak would look like)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cwd = Path(os.readlink(entry / "cwd"))
            except OSError:
                continue
            if cwd == folder or folder in cwd.parents:
                found.append(int(entry.name))
    return found


def _kill(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


class CodeServer:
    """code-server on 127.0.0.1:<free port> with the .vsix installed, in folders of its own under `home`."""

    def __init__(self, home: Path, vsix: Path, settings: dict[str, object]) -> None:
        self.home = home
        self.port = free_port()
        self.log = home / "code-server.log"
        self.user_data = home / "user-data"
        self.extensions = home / "extensions"
        self.entry = code_server()
        self.node, _ = node_tools()
        (self.user_data / "User").mkdir(parents=True, exist_ok=True)
        (self.user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
        (home / "config.yaml").write_text("auth: none\ncert: false\n")
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}
        self.process: subprocess.Popen[bytes] | None = None
        self.install_seconds = self._install(vsix)

    def _base(self) -> list[str]:
        return [self.node, str(self.entry), "--config", str(self.home / "config.yaml"),
                "--user-data-dir", str(self.user_data), "--extensions-dir", str(self.extensions)]

    def _install(self, vsix: Path) -> float:
        started = time.monotonic()
        _run([*self._base(), "--install-extension", str(vsix), "--force"], self.home, self.env, 180,
             "code-server --install-extension")
        if not any(self.extensions.glob("greenloop.greenloop-*")):
            raise AssertionError(f"the .vsix did not install into {self.extensions}")
        return time.monotonic() - started

    def start(self, timeout: float = 90) -> str:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*self._base(), "--auth", "none", "--bind-addr", f"127.0.0.1:{self.port}", "--disable-telemetry",
                 "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override",
                 "--disable-proxy", "--ignore-last-opened"],
                cwd=self.home, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"code-server exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return url
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"code-server did not answer within {timeout} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        """code-server, its extension host and everything they started (the greenloop server, its test runs):
        terminated, then killed if still there; by process id, never by name."""
        if self.process is None:
            return
        family = descendants(self.process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        _kill(family, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in family):
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        _kill([pid for pid in family if Path(f"/proc/{pid}").exists()], signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None

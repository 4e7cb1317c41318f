"""What the installed environment must and must not contain."""

import fnmatch
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

# .pth files run code at every interpreter start; the compromised litellm 1.82.8 added one.
EXPECTED_PTH = ("distutils-precedence.pth", "__editable__.*.pth", "_virtualenv.pth", "*-nspkg.pth")


def test_litellm_is_the_pinned_clean_release() -> None:
    version = metadata.version("litellm")
    assert version == "1.106.2"
    assert version not in ("1.82.7", "1.82.8")


def test_no_unexpected_startup_hooks_in_site_packages() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    unexpected = [p.name for p in site.glob("*.pth") if not any(fnmatch.fnmatch(p.name, pat) for pat in EXPECTED_PTH)]
    assert unexpected == []


def test_the_server_and_check_paths_never_import_litellm() -> None:
    code = ("import sys, greenloop.cli, greenloop.lsp.server, greenloop.engine, greenloop.cli.repair; "
            "print('litellm' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

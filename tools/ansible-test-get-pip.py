"""Offline stand-in for the pip bootstrap script that ansible-test downloads for its venvs.

ansible-test looks for a cached copy of that script before it downloads one; tools/test puts
this file there. It bootstraps pip with the standard library's ensurepip (in its own process:
ensurepip hides the machine's pip configuration from its own environment only) and then
installs the requested packages with the machine's normal pip configuration.
"""

from __future__ import annotations

import subprocess
import sys

# Options meant for the real bootstrap script, not for pip itself.
BOOTSTRAP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg not in BOOTSTRAP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    main()

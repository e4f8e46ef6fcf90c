"""Entry point of the frozen application: the same ``main`` as the ``ald-gui`` script.

The app starts no Python subprocesses (the embedded PostgreSQL server is a native
program), so nothing here re-executes the interpreter or needs ``freeze_support``.
"""

import sys

from ald_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())

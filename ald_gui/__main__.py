import sys

from ald_gui.cli import main

sys.exit(main())

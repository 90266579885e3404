"""``python -m calib``: see :mod:`calib.cli`."""

from __future__ import annotations

import sys

from calib.cli import main

if __name__ == "__main__":
    sys.exit(main())

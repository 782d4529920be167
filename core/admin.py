"""The command's earlier name, `python -m core.admin`, kept so existing scripts and runbooks still work.

Everything lives in core.cli; this only runs it.
"""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())

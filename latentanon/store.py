"""``python -m latentanon.store COMMAND ...``: the older name of ``python -m latentanon.stores`` (same commands).

Kept so existing scripts and ``from latentanon.store import format_info, main`` go on working.
"""

from __future__ import annotations

import sys

from latentanon.stores.__main__ import main
from latentanon.stores.info import format_info

__all__ = ["format_info", "main"]

if __name__ == "__main__":
    sys.exit(main())

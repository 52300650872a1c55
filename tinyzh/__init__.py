"""tinyzh: Chinese-first TinyBERT-style model compression.

Commands: ``tinyzh pregen | distill | augment | eval | plugins`` (see ``tinyzh --help``).
"""

from __future__ import annotations

__version__ = "0.1.0"

"""lipflow: declarative AI lip-sync and video-generation jobs, validated, costed, run and tested offline."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

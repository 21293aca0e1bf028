"""Small pieces every command-line tool shares (kept free of heavy imports)."""

from __future__ import annotations

import argparse

__all__ = ["add_version"]


def add_version(parser: argparse.ArgumentParser) -> None:
    """``--version`` on every command-line tool."""
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s (pytest-passport) {__version__}")

"""Small pieces every command-line tool shares (kept free of heavy imports)."""

from __future__ import annotations

import argparse

from .errors import ascii_path

__all__ = ["add_version", "one_line"]


def add_version(parser: argparse.ArgumentParser) -> None:
    """``--version`` on every command-line tool."""
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s (pytest-passport) {__version__}")


def one_line(text: object) -> str:
    """``text`` as one printable line for a terminal or a log.

    Undecodable bytes and lone surrogates are escaped as :func:`~pytest_passport.errors.ascii_path`
    does (``b"\\xff"`` as ``\\xff``); newlines, other control characters and invisible format
    characters (e.g. a right-to-left override) as Python writes them in a string literal
    (``\\n``, ``\\x1b``, ``\\u202e``). File names are user-controlled: one must not split a
    message or drive the terminal.
    """
    shown = ascii_path(str(text))
    if shown.isprintable():
        return shown
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in shown)

"""``python -m pytest_passport COMMAND …``: the console scripts without their entry points.

Commands: ``validate`` (validate-checkpoint), ``sign`` (sign-checkpoint), ``generate``
(generate-passport), ``report-schema`` (print the JSON schema of ``--json`` reports).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

USAGE = """usage: python -m pytest_passport {validate,sign,generate,report-schema} [ARGS…]

  validate       validate-checkpoint: validate a checkpoint; exit 0 LOADABLE, 1 DO NOT LOAD, 2 usage
  sign           sign-checkpoint: validate and write SIGNOFF.json
  generate       generate-passport: write MODEL_PASSPORT.json from the checkpoint's files
  report-schema  print the JSON schema of validate-checkpoint --json

'python -m pytest_passport COMMAND --help' describes each command's options.
"""


def _report_schema(argv: Sequence[str]) -> int:
    from .report.layout import dumps_schema

    sys.stdout.write(dumps_schema())
    return 0


def _commands() -> dict[str, Callable[[Sequence[str]], int]]:
    def validate(argv: Sequence[str]) -> int:
        from .cli import validate_main

        return validate_main(argv)

    def sign(argv: Sequence[str]) -> int:
        from .cli import sign_main

        return sign_main(argv)

    def generate(argv: Sequence[str]) -> int:
        from .generate import main

        return main(argv)

    return {
        "validate": validate,
        "validate-checkpoint": validate,
        "sign": sign,
        "sign-checkpoint": sign,
        "generate": generate,
        "generate-passport": generate,
        "report-schema": _report_schema,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    if args[0] == "--version":
        from . import __version__

        print(f"pytest-passport {__version__}")
        return 0
    command = _commands().get(args[0])
    if command is None:
        sys.stderr.write(f"python -m pytest_passport: unknown command {args[0]!r}\n\n{USAGE}")
        return 2
    try:
        return int(command(args[1:]) or 0)
    except SystemExit as exc:  # argparse --help / usage errors
        return exc.code if isinstance(exc.code, int) else 2


if __name__ == "__main__":
    sys.exit(main())

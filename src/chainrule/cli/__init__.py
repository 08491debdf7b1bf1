"""The ``chainrule`` command.

Each subcommand lives in its own module of this package and defines ``register(subparsers)``, which
adds its parser and sets ``func`` to a ``run(args) -> int`` function. Modules are discovered, so adding
a command is adding a file. Command modules import NumPy and anything heavier inside ``run`` only,
so ``chainrule --help`` stays fast.

Errors: a ``ChainruleError`` (bad input) or running out of memory prints one line and exits 2; an
unexpected exception prints one line and exits 1 (``--traceback`` shows it whole); Ctrl-C exits 130.
"""

import argparse
import importlib
import pkgutil
import sys
from typing import NoReturn


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (what is wrong, and where help is) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chainrule", description="A NumPy neural-network engine that shows its work.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--traceback", action="store_true", help="on an internal error, show the full traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    for mod in sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would name the top-level parser; the mistake is in the subcommand's arguments
        sub = _subparser(parser, args)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.version:
        from chainrule import __version__

        print(f"chainrule {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from chainrule.errors import ChainruleError

    try:
        return int(args.func(args) or 0)
    except ChainruleError as e:
        print(f"chainrule {args.command}: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"chainrule {args.command}: error: {e.filename}: no such file", file=sys.stderr)
        return 2
    except PermissionError as e:
        print(f"chainrule {args.command}: error: {e.filename}: permission denied", file=sys.stderr)
        return 2
    except IsADirectoryError as e:
        print(f"chainrule {args.command}: error: {e.filename}: is a folder, not a file", file=sys.stderr)
        return 2
    except MemoryError as e:  # a network or data set too large for this machine: the input's fault, not a bug
        print(
            f"chainrule {args.command}: error: not enough memory ({e}); try smaller layers or batches", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # NotADirectoryError, a full disk, a read-only file system …: the user's to fix
        if e.filename is not None:
            print(f"chainrule {args.command}: error: {e.filename}: {e.strerror or e}", file=sys.stderr)
            return 2
        from chainrule.files import DISK_ERRORS

        if e.errno in DISK_ERRORS:  # a write that named no file: still the disk's state, not a bug
            print(f"chainrule {args.command}: error: {e.strerror or e}", file=sys.stderr)
            return 2
        return _internal_error(args, e)
    except Exception as e:  # a bug: still one line, unless asked for the traceback
        return _internal_error(args, e)


def _subparser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the subcommand ``args`` ran (the top-level one when none was given)."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction) and args.command in action.choices:
            return action.choices[args.command]
    return parser


def _internal_error(args: "argparse.Namespace", e: Exception) -> int:
    """A bug: still one line, unless asked for the traceback."""
    if args.traceback:
        raise e
    print(
        f"chainrule {args.command}: internal error: {type(e).__name__}: {e} (rerun with --traceback for details)",
        file=sys.stderr,
    )
    return 1


def console() -> None:
    sys.exit(main())

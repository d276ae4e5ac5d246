"""`modelplane` command line: builds the parser and dispatches to `modelplane.commands.<verb>`."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from modelplane import __version__
from modelplane.problems import ModelplaneError

COMMANDS = {
    "validate": "check model and environment YAML against the spec",
    "compile": "render manifests per environment into rendered/",
    "check": "evaluate OPA policies for every (model, environment)",
    "lock": "record registry facts from MLflow into modelplane.lock",
    "schemas": "write JSON Schemas for the spec into schemas/",
    "promote": "pin in an environment the version its upstream environment runs",
    "registry": "registry sync: set MLflow aliases <env> on the version each environment runs",
    "codeowners": "write .github/CODEOWNERS from the model and environment owners",
    "demo": "run the whole pipeline on this repository with local defaults",
    "verify": "server-side dry-run of every rendered object against a real cluster (never applies)",
    "monitor": "measure drift, accuracy and fairness from data sets and publish them to Prometheus",
    "plan": "what this change does to each environment, against a base commit (no cluster)",
    "audit": "per (model, environment), who changed what and under which recorded decision, from git history",
    "docs": "docs build: a static HTML catalog of models, environments, policies and their history",
}


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named in `argv` (the first word that is one), skipping `--root`'s value."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--root":
            skip = True
        elif word in COMMANDS:
            return word
        elif not word.startswith("-"):
            return None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the command it names imports its module and options (start-up
    time: the commands import much of the package between them)."""
    named = None if argv is None else _command_in(argv)
    parser = argparse.ArgumentParser(prog="modelplane", description="Declarative GitOps for ML models.")
    parser.add_argument("--version", action="version", version=f"modelplane {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    parser.add_argument("--root", default=".", help="the config repository (default: current folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if argv is None or name == named:
            importlib.import_module(f"modelplane.commands.{name}").add_arguments(command)
    return parser


# A command builds millions of small objects that live until it exits (parsed specs, source maps,
# rendered objects) and almost no cycles; collecting every 700 allocations took half of loading.
GC_THRESHOLD = (100_000, 50, 100)
# The same for the Go tools a command runs, helm above all: a batch of releases makes mostly
# short-lived garbage, and at Go's default pace (100) collecting it was a sixth of helm's time.
# A GOGC of the caller's own is kept.
GO_COLLECTOR = "400"


def main(argv: Sequence[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLD)
    os.environ.setdefault("GOGC", GO_COLLECTOR)
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    module = importlib.import_module(f"modelplane.commands.{args.command}")
    try:
        return int(module.run(args))
    except ModelplaneError as exc:
        print(f"modelplane {args.command}: error: {exc}", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return exc.exit_code
    except OSError as exc:  # a file or folder we could not read or write: say which
        where = f": {exc.filename}" if exc.filename else ""
        print(f"modelplane {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return 2
    except KeyboardInterrupt:
        print(f"modelplane {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place a bug turns into a readable line
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"modelplane {args.command}: internal error: {type(exc).__name__}: {exc}"
                " (run with --debug for details)",
                file=sys.stderr,
            )
        return 2


def entry() -> None:
    """The `modelplane` command: `main`, then an exit that skips tearing the interpreter down.

    Freeing a large compile's objects one by one took up to half a second after the work was
    done. Nothing is left to run at exit: every temporary folder, server and worker is closed
    by the command itself, so only the standard streams are flushed first.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: the exit code still tells
        pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())

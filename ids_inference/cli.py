"""The `ids-inference` console script: one entry point, one subcommand per room.

Each subcommand is imported only when it runs, so `ids-inference serve` never pulls in the
training stack (scikit-learn, XGBoost, pandas).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module holding `main(argv) -> int`, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("models.train", "train the pickle set from CICIDS2017 CSVs or synthetic flows"),
    "convert": ("convert.cli", "convert a pickle set into a parity-checked ONNX model repository"),
    "serve": ("server.cli", "serve an ONNX model repository over HTTP"),
    "score": ("score.cli", "score flow files (CSV, gzip'd CSV, Parquet) with the ONNX models"),
    "bench": ("benchmarks.cli", "benchmark the pickle baseline against the ONNX server"),
    "flows": ("flows.cli", "turn pcap files or a live interface into CICIDS2017 flow records"),
    "detect": ("detect.cli", "judge the flows of pcap files or a live interface; EVE JSON alerts"),
}


# subcommand -> the extra of pyproject.toml that installs what it imports
EXTRAS: dict[str, str] = {
    "train": "convert",
    "convert": "convert",
    "serve": "serve",
    "score": "score",
    "bench": "bench",
}


def usage() -> str:
    lines = ["usage: ids-inference <command> [options]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, (_, text) in SUBCOMMANDS.items()]
    lines += ["", "Run `ids-inference <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in SUBCOMMANDS:
        print(f"ids-inference: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name = SUBCOMMANDS[command][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        extra = EXTRAS.get(command)
        if extra is None or error.name is None or error.name.split(".")[0] in {"ids_inference"}:
            raise
        print(
            f"ids-inference {command}: needs {error.name!r}, which the {extra!r} extra installs: "
            f"pip install 'ids-inference[{extra}]'",
            file=sys.stderr,
        )
        return 1
    entry: Callable[[list[str]], int] = module.main
    return entry(rest)


if __name__ == "__main__":
    raise SystemExit(main())

"""Read vLLM command lines with the installed vLLM's own argument parser.

    python -m tests.servers.vllm_parse < LINES.json     (with the vLLM venv's Python)

Input: a JSON list of {"form": "serve" | "api_server", "args": [words after `vllm serve` or after
`-m vllm.entrypoints.openai.api_server`]}. Output, as the last line: a JSON list, for each, either
{"served_model_name", "model", "port", "max_model_len"} as vLLM reads them, or {"error": what
vLLM's parser said}. `vllm serve MODEL` is read as vLLM's serve subcommand reads it: an optional
positional model before the server's own arguments.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


def parse_args(form: str, args: list[str]):
    """As `vllm serve ARGS` (vLLM's CLI with its serve subcommand) or the api_server module reads them."""
    from vllm.entrypoints.cli.serve import ServeSubcommand
    from vllm.entrypoints.openai.cli_args import make_arg_parser, validate_parsed_serve_args
    from vllm.utils import FlexibleArgumentParser

    if form == "api_server":
        parsed = make_arg_parser(FlexibleArgumentParser()).parse_args(args)
        validate_parsed_serve_args(parsed)
        return parsed
    parser = FlexibleArgumentParser(prog="vllm")
    serve = ServeSubcommand()
    serve.subparser_init(parser.add_subparsers(required=False, dest="subparser"))
    parsed = parser.parse_args(["serve", *args])
    serve.validate(parsed)
    if parsed.model_tag is not None:  # as ServeSubcommand.cmd: the positional model wins
        parsed.model = parsed.model_tag
    return parsed


def read(line: dict) -> dict:
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = parse_args(line["form"], line["args"])
    except SystemExit:
        return {"error": stderr.getvalue().strip().splitlines()[-1]}
    except (TypeError, ValueError) as err:
        return {"error": str(err)}
    names = args.served_model_name
    return {
        "served_model_name": names[0] if names else None,
        "model": args.model,
        "port": args.port,
        "max_model_len": args.max_model_len,
    }


if __name__ == "__main__":
    readings = [read(line) for line in json.load(sys.stdin)]
    # vLLM logs to stdout too: the answer is the last line.
    print("\n" + json.dumps(readings))

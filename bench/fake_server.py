"""The provider fakes in a process of their own, so the CPU the benchmark measures is the client's alone.

`python -m bench.fake_server --tokens 200 --pace 100 --paced-model gpt-4o` prints one JSON line (the fakes' URL
and each provider's `api_base`), then serves until its standard input closes. Every reply is `--tokens` words of
four characters (the fakes count four characters as one token), one per SSE chunk: as fast as the socket takes
them, or, for `--paced-model`, `--pace` chunks per second, as a provider generating tokens sends them.
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.fakes.providers import PROVIDERS, FakeProviders

# Varied words: litellm ends a stream that repeats one chunk too often ("the model is repeating").
WORDS = ("the", "fox", "ran", "far", "sky", "sea", "cat", "dog", "red", "big", "low", "new", "old", "sun", "map")


def reply_text(tokens: int) -> str:
    """`tokens` words of four characters each (a space and three letters)."""
    return "".join(f" {WORDS[i % len(WORDS)]}" for i in range(tokens))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--pace", type=float, default=0.0, help="chunks per second for --paced-model")
    parser.add_argument("--paced-model", default="gpt-4o")
    args = parser.parse_args(argv)
    fake = FakeProviders()
    fake.no_delay = True
    if args.pace > 0:
        fake.pace, fake.paced_models = 1.0 / args.pace, {args.paced_model}
    with fake:
        fake.reply = reply_text(args.tokens)
        fake.chunks = args.tokens
        print(json.dumps({"url": fake.url, "bases": {p: fake.base(p) for p in PROVIDERS}}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()

"""The tests' fake Hugging Face Hub in a process of its own, so the CPU of serving a download is not the client's.

`python -m bench.fake_hub --repo bench/model --bytes 100663296 --rate 16777216` prints one JSON line (the Hub's
URL), then serves until its standard input closes: one public repo holding a `config.json` and a
`model.safetensors` of `--bytes` random bytes, whose body is sent at `--rate` bytes per second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tests.fakes.hub import FakeHub


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--bytes", type=int, required=True)
    parser.add_argument("--rate", type=int, required=True, help="bytes per second")
    args = parser.parse_args(argv)
    with FakeHub() as hub:
        hub.add_repo(
            args.repo, {"config.json": b'{"model_type": "llama"}', "model.safetensors": os.urandom(args.bytes)}
        )
        hub.throttle(args.rate)
        print(json.dumps({"url": hub.url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()

"""The child process that downloads one model: `python -m core.local.download_worker`, started by
core/local/download.py.

It runs in its own process because ending a process is the one way to stop a download on both of
huggingface_hub's paths (raising from a progress callback does not stop hf_xet). It reads one JSON line from stdin
(repo_id, folder, names, endpoint, token: the token never goes through argv or the environment) and keeps reading
stdin: when the parent closes it or dies, the download stops. On failure it writes one JSON line, `{"kind",
"message"}` worded by core/providers/failures.py, to stdout and exits with 1.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from core.local.folder_lock import hold
from core.providers.failures import explain
from core.providers.hub import DEFAULT_ENDPOINT, HUB_DOWNLOAD, HUGGINGFACE, classify_hub_error
from core.providers.registry import get_provider
from core.security.redaction import secrets_in_use

EXIT_FAILED = 1
EXIT_ORPHANED = 3


def _exit_when_parent_goes() -> None:
    """End this process once stdin closes: the parent cancelled, or is gone."""
    sys.stdin.read()
    os._exit(EXIT_ORPHANED)  # no cleanup: the parent (or the next start) removes the partial files


def download(request: dict[str, Any]) -> None:
    """`snapshot_download` of exactly the planned files into the model's folder."""
    from huggingface_hub import snapshot_download

    folder = Path(request["folder"])
    hold(folder)  # released when this process ends, however it ends
    snapshot_download(
        request["repo_id"],
        local_dir=folder,
        allow_patterns=list(request["names"]),
        cache_dir=folder.parent.parent / ".cache",  # the Hub's refs stay in the models folder too
        token=request.get("token") or False,  # False: never a token found on the server's disk
        endpoint=request.get("endpoint") or DEFAULT_ENDPOINT,
    )


def main() -> int:
    import huggingface_hub  # noqa: F401  # before the request: a prepared process imports while the parent plans

    line = sys.stdin.readline()
    if not line:  # not needed after all
        return 0
    request = json.loads(line)
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    token = request.get("token")
    try:
        with secrets_in_use([token] if token else []):
            download(request)
    except Exception as error:  # every failure is told to the parent, worded; none may print the token
        explained = explain(classify_hub_error(error), get_provider(HUGGINGFACE), HUB_DOWNLOAD, request["repo_id"])
        print(json.dumps({"kind": explained.kind.value, "message": str(explained)}), flush=True)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    code = main()
    sys.stdout.flush()
    os._exit(code)  # not sys.exit: the thread blocked reading stdin would hold up the interpreter's shutdown

"""The process's long-lived objects, kept out of the garbage collector's way.

Streamlit collects garbage after every script run (`gc.collect(2)` in its ScriptRunner, `runner.postScriptGC`),
and a full collection visits every object the collector tracks: with litellm imported, over 450,000 (its model
tables, pydantic's schemas, the openai SDK's types), about 250 ms of CPU per run on a small server, two runs or more
per chat turn. Those objects are the imported modules' and live as long as the process, so each time modules were
imported since the last look they are frozen (`gc.freeze`: moved to a generation the collector never visits), and
the collection after a run visits what the runs made. The first run after an import pays one cheap freeze.
"""

from __future__ import annotations

import gc
import sys

_modules_at_freeze = 0


def freeze_imports() -> bool:
    """Freeze every object alive now if the modules loaded changed since the last freeze; whether it froze.

    Cheap enough for every run (one `len`). What a run has made when it freezes stays frozen too (a few thousand
    objects, only on the runs after an import, which become rare once a process has served its first pages).
    """
    global _modules_at_freeze
    modules = len(sys.modules)
    if modules == _modules_at_freeze:
        return False
    _modules_at_freeze = modules
    gc.freeze()
    return True

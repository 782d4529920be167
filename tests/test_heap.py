"""The imported modules' objects are frozen out of the garbage collector's way (ui/heap.py), by every script run."""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.services import Services
from tests.helpers import ROOT
from ui import heap


def scanned(thing: object) -> bool:
    """Whether a full collection would visit `thing` (frozen objects are in no generation it visits)."""
    return any(candidate is thing for candidate in gc.get_objects())


def test_a_new_import_is_frozen_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    heap.freeze_imports()
    name = f"imported_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text("def made_at_import():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = gc.get_freeze_count()
    module = importlib.import_module(name)
    try:
        assert scanned(module.made_at_import)
        assert heap.freeze_imports() is True
        assert gc.get_freeze_count() > before
        assert not scanned(module.made_at_import)
        assert heap.freeze_imports() is False, "nothing imported since: no second freeze"
    finally:
        del sys.modules[name]


def test_every_script_run_freezes_what_was_imported(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_modules_at_freeze", 0)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert gc.get_freeze_count() > 10_000, "the sign-in gate froze the imported modules' objects"

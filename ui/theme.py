"""Light or dark: the app follows the operating system's setting (`prefers-color-scheme`; no theme is forced in
.streamlit/config.toml), and Streamlit's own menu (⋮, top right) offers System, Light and Dark.

Streamlit keeps that choice in the browser's localStorage under a key named for the address the tab was opened at
(`stActiveTheme-/chat-v2`), so a choice made on /chat would be lost on reloading /profile. The script here keeps it
for every page of the app: each time Streamlit writes its theme key, the same choice is written for the others.
"""

from __future__ import annotations

import json

from ui.web import base_path

THEME_HINT = "Theme: ⋮ menu, top right → System, Light or Dark."
# The app's addresses (app.py's pages, and the sign-in page), as url paths under the base path.
ADDRESSES = ("", "chat", "profile", "models", "sign-in")
# Streamlit 1.67's key for the theme choice (frontend lib/theme: `stActiveTheme-${pathname}-v2`).
THEME_KEY = "stActiveTheme-{path}-v2"


def app_paths() -> list[str]:
    """Every pathname a tab of the app can be opened at (with and without a trailing slash)."""
    base = base_path()
    paths = [f"{base}/{address}" for address in ADDRESSES]
    return sorted({*paths, *(path.rstrip("/") or "/" for path in paths), *(path.rstrip("/") + "/" for path in paths)})


def keep_theme_script(paths: list[str]) -> str:
    """JavaScript: when Streamlit saves the theme choice for this tab's address, save it for all of `paths`."""
    keys = json.dumps([THEME_KEY.format(path=path) for path in paths])
    return f"""(() => {{
  if (window.__keepTheme) return;
  window.__keepTheme = true;
  const keys = {keys}, pattern = /^stActiveTheme-.*-v2$/, store = window.localStorage;
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {{
    setItem.call(this, key, value);
    if (this === store && pattern.test(key)) keys.forEach((other) => setItem.call(this, other, value));
  }};
}})();"""

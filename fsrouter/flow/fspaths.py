"""Paths as FreeSWITCH sees them, when it runs on another host.

FreeSWITCH opens every file fsrouter names (prompts to play, recordings and voicemail to
write) on its own host. When it mounts fsrouter's folders elsewhere, settings.yaml's
``freeswitch_paths`` maps each local folder to the same folder on FreeSWITCH's side:

    freeswitch_paths:
      /srv/fsrouter/sounds: /mnt/fsrouter/sounds

Every path sent to FreeSWITCH is rewritten by its longest matching local prefix; the
store keeps the local path (where fsrouter and ops read the files).
"""

from __future__ import annotations

import posixpath
from typing import Mapping


class PathMap:
    """mapping: local absolute folder -> the same folder as FreeSWITCH sees it (both str)."""

    def __init__(self, mapping: Mapping[str, str] | None = None):
        items = [(posixpath.normpath(k), posixpath.normpath(v)) for k, v in (mapping or {}).items()]
        self._prefixes = sorted(items, key=lambda kv: len(kv[0]), reverse=True)

    def for_freeswitch(self, path: str) -> str:
        """``path`` rewritten for FreeSWITCH's host (unchanged when no folder matches)."""
        for local, remote in self._prefixes:
            if local == "/":  # the whole file system is mounted elsewhere
                return posixpath.join(remote, path.lstrip("/")) if path.startswith("/") else path
            if path == local or path.startswith(local + "/"):
                return remote + path[len(local):]
        return path

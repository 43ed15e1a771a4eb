"""Tiny MP3 files built in Python for melody tests (no encoder needed).

Each frame is MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no CRC: a 4-byte header and 413 zero
bytes (all-zero side information decodes as silence), 417 bytes and 26.1 ms per frame.
"""

from __future__ import annotations

from pathlib import Path

FRAME_BYTES = 417
FRAME_S = 1152 / 44100


def mp3_bytes(*, seconds: float = 1.0, stereo: bool = False, size_bytes: int | None = None) -> bytes:
    """An MP3 of ``seconds`` of silence (or of about ``size_bytes``), mono unless ``stereo``."""
    header = bytes([0xFF, 0xFB, 0x90, 0x04 if stereo else 0xC4])  # mode bits: 00 stereo, 11 mono
    frames = size_bytes // FRAME_BYTES if size_bytes else max(1, round(seconds / FRAME_S))
    return (header + bytes(FRAME_BYTES - 4)) * frames


def write_mp3(path: Path, **kwargs) -> Path:
    """Write :func:`mp3_bytes` to ``path`` (folders created); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mp3_bytes(**kwargs))
    return path

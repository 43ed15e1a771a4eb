"""ESL session transcripts (``*.esl.jsonl``, format version 1): read, validate, write.

Format: ``../shared/esl-sessions/README.md``. Line 1 is a header object
(``{"esl_transcript": 1, ...}``); every other line is one whole ESL frame
(``{"t": s, "from": "fs"|"app", "frame": text}`` or ``"frame_b64"`` for bytes that are not
UTF-8), optionally with a ``"note"``; the last line may be ``{"t", "from", "eof": true}``.

Reading is strict: every problem is a :class:`~fsrouter.errors.TranscriptError` naming the
file and the 1-based line (bad JSON, a missing field, a frame that is not exactly one
complete ESL message, e.g. truncated mid-body). A file that simply stops (a recorder that
crashed mid-call) is valid: it has no ``eof`` line and ``Transcript.eof`` is None.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable

from fsrouter.errors import EslProtocolError, TranscriptError
from fsrouter.esl import Frame, FrameParser

FORMAT_VERSION = 1
SUFFIX = ".esl.jsonl"
FS, APP = "fs", "app"


@dataclass(frozen=True)
class Entry:
    """One frame of a transcript: t (s since accept), direction ("fs" | "app"), raw bytes,
    the parsed Frame, the file line it came from (1-based; 0 when built in memory) and a note."""

    t: float
    direction: str
    raw: bytes
    frame: Frame
    line: int = 0
    note: str | None = None


@dataclass(frozen=True)
class Eof:
    """The connection's end: who closed it ("fs" | "app") and when (s since accept)."""

    t: float
    direction: str


@dataclass
class Transcript:
    """A whole transcript: header (dict, line 1), entries in wire order, eof (the first
    side to close, or None), path.

    eof_at: how many entries came before the eof line (a late write into a closed socket,
    capture 15's ``exit``, may follow it).
    """

    header: dict
    entries: list[Entry] = field(default_factory=list)
    eof: Eof | None = None
    path: Path | None = None
    eof_at: int | None = None

    @property
    def name(self) -> str:
        return self.path.name if self.path else "<memory>"

    def app_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.direction == APP]

    def fs_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.direction == FS]

    def connect_data(self):
        """The channel data (an Event) of the connect reply: the first ``fs`` frame; None if absent."""
        for entry in self.entries:
            if entry.direction == FS:
                try:
                    return entry.frame.event()
                except EslProtocolError:
                    return None
        return None


def parse_one_frame(raw: bytes, direction: str) -> Frame:
    """``raw`` as exactly one complete ESL frame; raises ValueError saying what is wrong."""
    parser = FrameParser(commands=direction == APP)
    try:
        frames = parser.feed(raw)
    except EslProtocolError as exc:
        raise ValueError(f"not an ESL frame: {exc}") from None
    if not frames:
        raise ValueError(f"frame is truncated: {len(raw)} bytes end before the frame does "
                         "(no blank line after the headers, or fewer body bytes than Content-Length)")
    if len(frames) > 1 or parser.buffered:
        extra = len(raw) - len(frames[0].raw)
        raise ValueError(f"more than one frame on one line ({extra} bytes after the first frame)")
    if frames[0].raw != raw:
        raise ValueError("frame has blank lines before it (a frame starts with its first header)")
    return frames[0]


#: Longest time offset a frame may have (one day): a call, not a calendar.
MAX_T_S = 86_400.0

#: Header keys fsrouter reads back, and the JSON type each must have.
_HEADER_TYPES = {"config": str, "line": (str, type(None)), "config_version": (str, type(None)),
                 "paths": dict, "employee_status": dict, "call_uuid": str}


def _check_header(header: dict, path, number: int) -> None:
    """The header keys replay reads have the right types (mappings of strings to strings)."""
    for key, kind in _HEADER_TYPES.items():
        if key not in header:
            continue
        value = header[key]
        if not isinstance(value, kind):
            raise _line_error(path, number, f"header {key!r} has the wrong type ({type(value).__name__})")
        if isinstance(value, dict) and not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise _line_error(path, number, f"header {key!r} must map strings to strings")


def _line_error(path, number: int, message: str) -> TranscriptError:
    return TranscriptError(str(path), number, message)


def _entry(obj: dict, path, number: int):
    t = obj.get("t")
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0 <= t <= MAX_T_S:
        raise _line_error(path, number, f"'t' must be seconds from 0 to {MAX_T_S:g}, got {t!r}")
    direction = obj.get("from")
    if direction not in (FS, APP):
        raise _line_error(path, number, f"'from' must be \"fs\" or \"app\", got {direction!r}")
    if obj.get("eof") is True:
        return Eof(float(t), direction)
    if "frame" in obj:
        if not isinstance(obj["frame"], str):
            raise _line_error(path, number, "'frame' must be a string")
        raw = obj["frame"].encode("utf-8")
    elif "frame_b64" in obj:
        try:
            raw = base64.b64decode(obj["frame_b64"], validate=True)
        except (ValueError, TypeError) as exc:
            raise _line_error(path, number, f"'frame_b64' is not base64: {exc}") from None
    else:
        raise _line_error(path, number, "a frame line needs 'frame' (or 'frame_b64'), or 'eof': true")
    note = obj.get("note")
    note = note if isinstance(note, str) else None
    if direction == APP:
        return (float(t), raw, note)  # framed as a stream by _AppStream
    try:
        frame = parse_one_frame(raw, direction)
    except ValueError as exc:
        raise _line_error(path, number, str(exc)) from None
    return Entry(float(t), direction, raw, frame, number, note)


class _AppStream:
    """Frames the ``app`` records as one byte stream.

    Some recorders wrote a command with a body as two records (capture 14: the header
    block alone, the body glued to the front of the next command); the bytes on the wire
    were right, so the app side is re-framed as a stream. A frame still open at the end
    of the file is an error at the line where it started.
    """

    def __init__(self, path):
        self.path = path
        self.parser = FrameParser(commands=True)
        self.open_since: int | None = None
        self.open_t = 0.0
        self.open_index = 0

    def feed(self, t: float, raw: bytes, note: str | None, number: int) -> list[tuple[bool, Entry]]:
        """Frames this line completes, each with True when it began on an earlier line (it
        then takes that line's place and time in the transcript)."""
        try:
            frames = self.parser.feed(raw)
        except EslProtocolError as exc:
            raise _line_error(self.path, self.open_since or number, f"not an ESL frame: {exc}") from None
        out = []
        for i, frame in enumerate(frames):
            if i == 0 and self.open_since is not None and self.open_since != number:
                split_note = f"re-framed: the recorder split this frame over lines {self.open_since}-{number}"
                out.append((True, Entry(self.open_t, APP, frame.raw, frame, self.open_since, split_note)))
            else:
                out.append((False, Entry(t, APP, frame.raw, frame, number, note)))
        if self.parser.buffered:
            if self.open_since is None or frames:
                self.open_since, self.open_t = number, t
        else:
            self.open_since = None
        return out

    def finish(self) -> None:
        if self.parser.buffered:
            raise _line_error(self.path, self.open_since, "frame is truncated: the file ends "
                              f"{self.parser.buffered} bytes into a frame that is never completed "
                              "(no blank line after the headers, or fewer body bytes than Content-Length)")


def parse_lines(lines: Iterable[str], path="<memory>") -> Transcript:
    """Build a Transcript from the file's lines; raises TranscriptError(path, line, message)."""
    transcript = None
    app = _AppStream(path)
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            why = "line is cut off (truncated file?)" if not text.endswith("\n") else "bad JSON"
            raise _line_error(path, number, f"{why}: {exc.msg} at column {exc.colno}") from None
        except RecursionError:
            raise _line_error(path, number, "bad JSON: nested too deeply") from None
        if not isinstance(obj, dict):
            raise _line_error(path, number, f"expected a JSON object, got {type(obj).__name__}")
        if transcript is None:
            if obj.get("esl_transcript") != FORMAT_VERSION:
                raise _line_error(path, number, "line 1 must be the header "
                                  f'{{"esl_transcript": {FORMAT_VERSION}, ...}}, got {text.strip()[:60]!r}')
            _check_header(obj, path, number)
            transcript = Transcript(header=obj, path=Path(path) if path != "<memory>" else None)
            continue
        item = _entry(obj, path, number)
        if isinstance(item, Eof):
            if transcript.eof is not None:  # the other side's close (capture 24) is allowed
                if item.direction == transcript.eof.direction:
                    raise _line_error(path, number, f"a second 'eof' line from {item.direction!r}")
                continue
            transcript.eof = item
            transcript.eof_at = len(transcript.entries)
        elif isinstance(item, tuple):
            was_open = app.open_since is not None
            for began_earlier, entry in app.feed(*item, number):
                if began_earlier:
                    transcript.entries.insert(app.open_index, entry)
                else:
                    transcript.entries.append(entry)
            if app.open_since is not None and (not was_open or app.open_since == number):
                app.open_index = len(transcript.entries)
        else:
            transcript.entries.append(item)
    if transcript is None:
        raise TranscriptError(str(path), None, "empty file: no header line")
    app.finish()
    return transcript


def read_transcript(path: str | Path) -> Transcript:
    """Read and validate one ``*.esl.jsonl`` file; raises TranscriptError (path, line, message)."""
    path = Path(path)
    try:
        with path.open("r", encoding="utf-8", newline="\n") as fh:
            return parse_lines(fh, path)
    except UnicodeDecodeError as exc:
        raise TranscriptError(str(path), None, f"not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise TranscriptError(str(path), None, f"cannot read: {exc.strerror or exc}") from None


def find_transcripts(paths: Iterable[str | Path]) -> list[Path]:
    """Files named on the command line, folders searched recursively for ``*.esl.jsonl``, sorted."""
    found: list[Path] = []
    for item in paths:
        item = Path(item)
        if item.is_dir():
            found += sorted(p for p in item.rglob(f"*{SUFFIX}") if p.is_file())
        else:
            found.append(item)
    return found


# ----------------------------------------------------------------------------- writing
def header_line(header: dict) -> str:
    """The JSON line of a header (``esl_transcript`` first), with its newline."""
    return json.dumps({"esl_transcript": FORMAT_VERSION, **header}, ensure_ascii=False) + "\n"


def frame_line(t: float, direction: str, raw: bytes, note: str | None = None) -> str:
    """The JSON line of one frame, with its newline; non-UTF-8 bytes go as ``frame_b64``."""
    obj: dict = {"t": round(t, 6), "from": direction}
    try:
        obj["frame"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        obj["frame_b64"] = base64.b64encode(raw).decode("ascii")
    if note:
        obj["note"] = note
    return json.dumps(obj, ensure_ascii=False) + "\n"


def eof_line(t: float, direction: str) -> str:
    return json.dumps({"t": round(t, 6), "from": direction, "eof": True}) + "\n"


def write_transcript(out: IO[str] | str | Path, header: dict,
                     frames: Iterable[tuple[float, str, bytes]], eof: tuple[float, str] | None = None) -> None:
    """Write a whole transcript: header, (t, direction, raw) frames, and the eof line if given."""
    if isinstance(out, (str, Path)):
        with Path(out).open("w", encoding="utf-8", newline="\n") as fh:
            write_transcript(fh, header, frames, eof)
        return
    out.write(header_line(header))
    for t, direction, raw in frames:
        out.write(frame_line(t, direction, raw))
    if eof is not None:
        out.write(eof_line(*eof))

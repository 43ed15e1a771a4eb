"""Matching what the engine sends against what a transcript recorded, by position.

Values that differ by nature are not compared as text:

* folders that depend on where a config lives (config root, voicemail, recordings,
  sounds) are replaced by ``{config}``, ``{voicemail}``... on both sides first;
* UUIDs the engine generates (Event-UUIDs, B-leg ``origination_uuid``) are bound by
  position: the first time a recorded id is met it is bound to the id the engine sent at
  that place, and every later use must agree (both ways). UUIDs that FreeSWITCH sent first
  (the channel's Unique-ID, Core-UUID) are not generated: they must come back as sent;
* date-times inside file names (``2026-11-30_192100``, ``/2026-11/``) match any value of
  the same shape, and are bound too.

The bindings (recorded -> replayed) are applied to the recorded FreeSWITCH frames before
they are sent, so ``Application-UUID`` and ``Other-Leg-Unique-ID`` name what the engine
sent; an event's ``Content-Length`` is recomputed when a substitution changes its size.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
DATETIME = r"\d{4}-\d{2}-\d{2}[_T ]\d{2}:?\d{2}:?\d{2}"
MONTH_DIR = r"(?<=/)\d{4}-\d{2}(?=/)"
_TOKEN = re.compile(f"(?P<uuid>{UUID})|(?P<time>{DATETIME})|(?P<month>{MONTH_DIR})")


def tokens(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Split ``text`` into its literal pieces and its (kind, value) tokens (len(pieces) = len(tokens) + 1)."""
    pieces, found, pos = [], [], 0
    for m in _TOKEN.finditer(text):
        pieces.append(text[pos:m.start()])
        found.append((m.lastgroup, m.group()))
        pos = m.end()
    pieces.append(text[pos:])
    return pieces, found


def _first_difference(expected: str, got: str) -> str:
    """Where two commands first differ, ids and times aside: "`...recorded...` became
    `...sent...`" around the first differing character (or a line more or less), for the
    divergence's headline."""
    exp_lines, got_lines = expected.rstrip("\n").split("\n"), got.rstrip("\n").split("\n")
    for exp_line, got_line in zip(exp_lines, got_lines):
        exp_pieces, exp_tokens = tokens(exp_line)
        got_pieces, got_tokens = tokens(got_line)
        if exp_pieces == got_pieces:
            continue
        if exp_line.split(" ", 1)[0] == got_line.split(" ", 1)[0] == "nixevent":
            want = {n.upper() for n in exp_line.split()[1:]}
            sent = {n.upper() for n in got_line.split()[1:]}
            parts = ([f"no longer {' '.join(sorted(want - sent))}"] if want - sent else []) + \
                    ([f"now also {' '.join(sorted(sent - want))}"] if sent - want else [])
            return "; ".join(parts) or "the same types, written otherwise (order, case, spaces)"
        k = next(i for i, (a, b) in enumerate(zip(exp_pieces, got_pieces)) if a != b) \
            if any(a != b for a, b in zip(exp_pieces, got_pieces)) else min(len(exp_pieces), len(got_pieces)) - 1
        common = len(os.path.commonprefix([exp_pieces[k], got_pieces[k]]))
        at_exp = sum(map(len, exp_pieces[:k])) + sum(len(v) for _, v in exp_tokens[:k]) + common
        at_got = sum(map(len, got_pieces[:k])) + sum(len(v) for _, v in got_tokens[:k]) + common
        return f"`{_around(exp_line, at_exp)}` became `{_around(got_line, at_got)}`"
    if len(got_lines) > len(exp_lines):
        return f"the engine's command has a line more: `{_around(got_lines[len(exp_lines)], 0)}`"
    if len(got_lines) < len(exp_lines):
        return f"the engine's command lacks the line `{_around(exp_lines[len(got_lines)], 0)}`"
    return "the command differs"


def _around(text: str, at: int, before: int = 40, after: int = 60) -> str:
    """``text`` cut to the window around position ``at``, "..." where it was cut."""
    start = max(0, at - before)
    end = min(len(text), at + after)
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def replace_paths(text: str, paths: dict[str, str]) -> str:
    """Replace each folder in ``paths`` (name -> absolute path) by ``{name}``, longest first."""
    for name, path in sorted(paths.items(), key=lambda kv: -len(kv[1] or "")):
        if path:
            text = text.replace(path.rstrip("/"), "{" + name + "}")
    return text


def fix_content_length(raw: bytes) -> bytes:
    """Make the outer ``Content-Length`` of a frame equal its body's size (after an edit)."""
    end = raw.find(b"\n\n")
    if end < 0:
        return raw
    head, body = raw[:end], raw[end + 2:]
    lines = head.split(b"\n")
    for i, line in enumerate(lines):
        if line.lower().startswith(b"content-length:"):
            lines[i] = line[:15] + b" %d" % len(body)
            return b"\n".join(lines) + b"\n\n" + body
    return raw


@dataclass
class Match:
    """The outcome of comparing one recorded command with the one the engine sent."""

    ok: bool
    diff: str = ""
    reason: str = ""


@dataclass
class Normalizer:
    """Keeps the position bindings of one replayed call.

    recorded_paths / replay_paths: folder name -> absolute path on each side (see module doc).
    """

    recorded_paths: dict[str, str] = field(default_factory=dict)
    replay_paths: dict[str, str] = field(default_factory=dict)
    bound: dict[str, str] = field(default_factory=dict)
    _reverse: dict[str, str] = field(default_factory=dict)
    _fixed: set[str] = field(default_factory=set)

    def bind(self, recorded: str, replayed: str) -> None:
        """Force a binding (e.g. a rewritten channel creation time for ``--at``)."""
        self.bound[recorded] = replayed
        self._reverse[replayed] = recorded

    # ------------------------------------------------------------ FreeSWITCH side
    def outgoing(self, raw: bytes) -> bytes:
        """A recorded FreeSWITCH frame with the bindings applied, ready to send."""
        text = raw.decode("utf-8", "surrogateescape")
        for _, value in tokens(text)[1]:
            if value not in self.bound:
                self._fixed.add(value)  # FreeSWITCH said it first: not generated by the engine
        if not self.bound:
            return raw
        changed = text
        for recorded, replayed in self.bound.items():
            if recorded != replayed and recorded in changed:
                changed = changed.replace(recorded, replayed)
        if changed == text:
            return raw
        out = changed.encode("utf-8", "surrogateescape")
        return fix_content_length(out) if len(out) != len(raw) else out

    # ------------------------------------------------------------ engine side
    def compare(self, expected: bytes, got: bytes) -> Match:
        """Compare a recorded command with the engine's; binds new ids when they match."""
        exp = replace_paths(expected.decode("utf-8", "replace"), self.recorded_paths)
        act = replace_paths(got.decode("utf-8", "replace"), self.replay_paths)
        exp_pieces, exp_tokens = tokens(exp)
        act_pieces, act_tokens = tokens(act)
        new: dict[str, str] = {}
        ok = exp_pieces == act_pieces and len(exp_tokens) == len(act_tokens)
        reason = "" if ok else _first_difference(exp, act)
        if ok:
            for (kind, rec), (kind2, val) in zip(exp_tokens, act_tokens):
                if kind != kind2:
                    ok, reason = False, f"{kind} value {rec} became {kind2} value {val}"
                    break
                if kind == "uuid" and rec in self._fixed and rec not in self.bound:
                    if rec != val:
                        ok, reason = False, f"id {rec} sent by FreeSWITCH came back as {val}"
                        break
                    continue
                want = self.bound.get(rec, new.get(rec))
                if want is not None and want != val:
                    ok, reason = False, f"id {rec} was {want} earlier, now {val}"
                    break
                other = self._reverse.get(val)
                if want is None and other is not None and other != rec:
                    ok, reason = False, f"{val} already stands for {other}, not {rec}"
                    break
                new[rec] = val
        if ok:
            for rec, val in new.items():
                self.bind(rec, val)
            return Match(True)
        return Match(False, self.render_diff(exp, act), reason)

    def bind_positions(self, expected: bytes, got: bytes) -> bool:
        """Bind the ids of two commands that differ elsewhere (``--update``): True when they
        have the same tokens in the same order, so later frames can still be replayed."""
        exp = tokens(expected.decode("utf-8", "replace"))[1]
        act = tokens(got.decode("utf-8", "replace"))[1]
        if [k for k, _ in exp] != [k for k, _ in act]:
            return False
        for (_, rec), (_, val) in zip(exp, act):
            if rec not in self._fixed and rec not in self.bound:
                self.bind(rec, val)
        return True

    def render_diff(self, expected: str, got: str) -> str:
        """A unified diff of two commands, ids already bound shown as the engine's values."""
        for recorded, replayed in self.bound.items():
            expected = expected.replace(recorded, replayed)
        lines = difflib.unified_diff(expected.rstrip("\n").split("\n"), got.rstrip("\n").split("\n"),
                                     "recorded", "engine", lineterm="", n=2)
        return "\n".join(lines)

    def to_recorded_paths(self, raw: bytes) -> bytes:
        """A command the engine sent with the replay's folders turned back into the config's
        (``--update`` writes these)."""
        text = raw.decode("utf-8", "surrogateescape")
        for name, path in sorted(self.replay_paths.items(), key=lambda kv: -len(kv[1] or "")):
            target = self.recorded_paths.get(name)
            if path and target:
                text = text.replace(path.rstrip("/"), target.rstrip("/"))
        out = text.encode("utf-8", "surrogateescape")
        return fix_content_length(out) if len(out) != len(raw) else out

"""Strict YAML source: every scalar stays a string, duplicate keys are refused, lines are kept.

PyYAML's ``safe_load`` guesses types (``on`` -> True, ``0101`` -> 65, ``12:30`` -> 750,
``+380441234567`` -> an int) and silently keeps the last of two equal keys. Here the only
implicit type is null: a plain ``null`` / ``Null`` / ``NULL`` / ``~`` or an empty value is
None; every other scalar is a ``str`` and the schema types it later. Explicit standard tags
(``!!str``, ``!!int``, ...) are allowed and also give the scalar's text; any other tag is refused.
Anchors and aliases work; merge keys (``<<: *base``) work, explicit keys winning.

``parse_yaml(text, path)`` returns a :class:`YamlDoc`: the plain tree (dict / list / str /
None) and, for every node, its 1-based line keyed by the node's path tuple, e.g.
``("routing", "extension_dialing", "ring_time")`` or ``("schedule", "mon", 1)``.
A mapping entry's line is the line of its key.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fsrouter.errors import ConfigError

_TAG = "tag:yaml.org,2002:"
_NULL_TAG = _TAG + "null"
_TEXT_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "timestamp", "binary")}
_MERGE_TAG = _TAG + "merge"
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")


#: Most nodes a document may hold once its aliases are expanded (a "billion laughs" guard:
#: ten nested aliases of ten items each are 300 bytes and 10^7 nodes).
MAX_EXPANDED_NODES = 100_000
#: Deepest nesting a document may have (a config needs fewer than ten levels).
MAX_DEPTH = 64
#: Bytes one config file may have: the largest real one is a few KB; a reload reads in
#: the serving process, and a huge file would hold every call up while it parses.
MAX_FILE_BYTES = 1_048_576
#: Control characters a string may not hold once YAML escapes are undone ("\x07",
#: "\u0000"): they end up in FreeSWITCH's dialplan XML, channel variables and the store.
#: Tab and newline are allowed (block scalars have newlines).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Invisible characters that change how text reads, refused in any value, raw or escaped:
#: the line and paragraph separators (U+2028, U+2029: a line break to many viewers, in
#: one value) and the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
#: U+2066-U+2069: "Trojan Source" text that displays otherwise than it is, in logs, CRM
#: cards and the dialplan), and U+FEFF. Marks that scripts need (ZWJ, ZWNJ, LRM, RLM)
#: stay allowed.
_INVISIBLE = re.compile("[\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_INVISIBLE_NAMES = {0x2028: "a line separator", 0x2029: "a paragraph separator", 0xFEFF: "a byte order mark"}


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without implicit resolvers except null and the merge key ``<<``;
    remembers the line of the first alias (``first_alias_line``)."""

    yaml_implicit_resolvers: dict = {}
    first_alias_line: int | None = None

    def compose_node(self, parent, index):
        if self.first_alias_line is None and self.check_event(yaml.AliasEvent):
            self.first_alias_line = self.peek_event().start_mark.line + 1
        return super().compose_node(parent, index)


StrictLoader.add_implicit_resolver(_NULL_TAG, _NULL_RE, ["~", "n", "N", ""])
StrictLoader.add_implicit_resolver(_MERGE_TAG, re.compile(r"^(?:<<)$"), ["<"])


@dataclass(frozen=True)
class YamlDoc:
    """One parsed YAML file: ``data`` (plain tree), ``lines`` (node path -> 1-based line)."""

    path: str
    data: Any
    lines: Mapping[tuple, int] = field(default_factory=dict)

    def line_for(self, loc: Sequence[Any]) -> int | None:
        """Line of the deepest node on ``loc`` that exists (longest matching prefix)."""
        loc = tuple(loc)
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


def parse_yaml(text: str | bytes, path: str) -> YamlDoc:
    """Parse one YAML document strictly; ``path`` is only used in errors.

    Raises ConfigError(path, line, field, message) on a syntax error (line from the YAML
    mark), on a control character (its line), on a duplicate key (line of the second key),
    on a non-scalar or null mapping key, on an unknown tag, on a recursive alias, on nesting
    deeper than MAX_DEPTH, and on a document that expands through its aliases to more than
    MAX_EXPANDED_NODES nodes (line of the first alias; checked before anything is built).
    An empty file gives ``data`` None.
    """
    _refuse_odd_line_breaks(text, path)
    loader = None
    try:
        loader = StrictLoader(text)  # a str is checked for control characters here
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise ConfigError(path, line, "", f"YAML syntax error: {message}") from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(path, _line_at(text, exc.position), "",
                          f"character {_codepoint(exc.character)} is not allowed in YAML "
                          f"(control characters and NUL bytes are refused)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, "", f"YAML error: {exc}") from None
    except RecursionError:
        raise _too_deep(path, None) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[tuple, int] = {}
    if node is None:
        return YamlDoc(path, None, {(): 1})
    size, depth, deepest = _expanded_size(node)
    if size > MAX_EXPANDED_NODES:
        raise ConfigError(path, loader.first_alias_line or 1, "",
                          f"aliases expand the document to {size:,} nodes (at most {MAX_EXPANDED_NODES:,}; "
                          f"the line is the first alias): refused as a YAML \"billion laughs\"")
    if depth > MAX_DEPTH:
        raise _too_deep(path, deepest)
    try:
        data = _Builder(path, lines).build(node, ())
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps the builder well inside the limit
        raise _too_deep(path, None) from None
    return YamlDoc(path, data, lines)


def _too_deep(path: str, line: int | None) -> ConfigError:
    return ConfigError(path, line, "", f"nested too deeply (more than {MAX_DEPTH} levels of lists or mappings)")


#: Characters YAML reads as line breaks (NEL, LS, PS) that editors show within a line: raw
#: in a file they would shift every line number after them, and end a value mid-line.
_ODD_BREAKS_STR = re.compile("[\x85\u2028\u2029]")
_ODD_BREAKS_UTF8 = re.compile(b"\xc2\x85|\xe2\x80[\xa8\xa9]")
_ODD_BREAK_NAMES = {0x85: "a next-line control", 0x2028: "a line separator", 0x2029: "a paragraph separator"}


def _refuse_odd_line_breaks(text: str | bytes, path: str) -> None:
    """ConfigError at the line (counted by newlines, as an editor does) of the first raw
    NEL, U+2028 or U+2029 in ``text``."""
    if isinstance(text, (bytes, bytearray)):
        found = _ODD_BREAKS_UTF8.search(text)
        character = found.group().decode("utf-8") if found else ""
    else:
        found = _ODD_BREAKS_STR.search(text)
        character = found.group() if found else ""
    if found is not None:
        code = ord(character)
        raise ConfigError(path, _line_at(text, found.start()), "",
                          f"character {_codepoint(code)} ({_ODD_BREAK_NAMES[code]}) is not allowed: YAML reads it "
                          f"as a line break in the middle of this line; use an ordinary newline or remove it")


def _line_at(text: str | bytes, position: int | None) -> int | None:
    """1-based line of character ``position`` in ``text``."""
    if position is None or position < 0:
        return None
    newline = b"\n" if isinstance(text, bytes) else "\n"
    return text[:position].count(newline) + 1


def _codepoint(character: Any) -> str:
    code = character if isinstance(character, int) else ord(character) if character else 0
    return f"U+{code:04X}"


def _expanded_size(root: Node) -> tuple[int, int, int | None]:
    """(nodes, depth, line of a deepest node) of ``root`` with every alias expanded in place.

    Iterative, memoised per node object (an alias is the very node it names), so a file of
    nested aliases costs its composed size, not its expanded one. A recursive alias counts
    once here; the builder reports it.
    """
    size: dict[int, int] = {}
    depth: dict[int, tuple[int, int]] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            size[key] = 1 + sum(size.get(id(c), 1) for c in children)
            below = max((depth.get(id(c), (1, c.start_mark.line + 1)) for c in children), default=None)
            depth[key] = (below[0] + 1, below[1]) if below else (1, node.start_mark.line + 1)
            active.discard(key)
            continue
        if key in size or key in active:
            continue
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node))
    levels, line = depth[id(root)]
    return size[id(root)], levels, line


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def read_yaml(file, path: str) -> YamlDoc:
    """Read ``file`` (a filesystem path) as UTF-8 and parse it; ``path`` names it in errors.

    Only a regular file of at most MAX_FILE_BYTES is read: a FIFO (which would block the
    reading process until someone writes), a device such as /dev/zero (endless) or a huge
    file is a ConfigError, without reading it."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except OSError as exc:
        raise ConfigError(path, None, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(path, None, "", "not a regular file (a FIFO, device or socket): refused")
        if info.st_size > MAX_FILE_BYTES:
            raise ConfigError(path, None, "", f"{info.st_size:,} bytes: a config file may have at most "
                                              f"{MAX_FILE_BYTES:,}")
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(path, None, "", f"cannot read: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(raw) > MAX_FILE_BYTES:  # it grew after the check
        raise ConfigError(path, None, "", f"over {MAX_FILE_BYTES:,} bytes: a config file may have at most that")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(path, line, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_yaml(text, path)


def dotted(loc: Sequence[Any]) -> str:
    """("working_hours", "schedule", "mon", 1) -> "working_hours.schedule.mon[1]"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Builder:
    """Walk a composed node graph into plain Python values, recording each node's line."""

    def __init__(self, path: str, lines: dict[tuple, int]):
        self.path = path
        self.lines = lines
        self.active: set[int] = set()  # ids of collection nodes being built (alias loops)

    def fail(self, node: Node, loc: tuple, message: str) -> ConfigError:
        return ConfigError(self.path, node.start_mark.line + 1, dotted(loc), message)

    def build(self, node: Node, loc: tuple, line: int | None = None) -> Any:
        self.lines.setdefault(loc, line or node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node, loc)
        if id(node) in self.active:
            raise self.fail(node, loc, "recursive alias")
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != _TAG + "seq":
                    raise self.fail(node, loc, f"unsupported tag {node.tag}")
                return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self.mapping(node, loc)
        finally:
            self.active.discard(id(node))
        raise self.fail(node, loc, f"unsupported node {type(node).__name__}")  # pragma: no cover

    def scalar(self, node: ScalarNode, loc: tuple) -> str | None:
        if node.tag == _NULL_TAG:
            return None
        if node.tag in _TEXT_TAGS:
            self.check_characters(node, loc, "a value")
            return node.value
        raise self.fail(node, loc, f"unsupported tag {node.tag}")

    def check_characters(self, node: ScalarNode, loc: tuple, what: str) -> None:
        """ConfigError for a control character or an invisible one that changes how text
        reads (_CONTROL, _INVISIBLE) in a key or a value, raw or written as an escape."""
        bad = _CONTROL.search(node.value)
        if bad is not None:
            raise self.fail(node, loc, f"character {_codepoint(bad.group())} (a control character, written as "
                                       f"an escape) is not allowed in {what}")
        bad = _INVISIBLE.search(node.value)
        if bad is not None:
            kind = _INVISIBLE_NAMES.get(ord(bad.group()), "a bidirectional text control")
            raise self.fail(node, loc, f"character {_codepoint(bad.group())} ({kind}, invisible: the text would "
                                       f"read otherwise than it is) is not allowed in {what}")

    def key(self, node: Node, loc: tuple) -> str:
        if not isinstance(node, ScalarNode) or node.tag not in _TEXT_TAGS:
            raise self.fail(node, loc, "a mapping key must be a plain, non-empty scalar")
        self.check_characters(node, loc, "a key")
        return node.value

    def mapping(self, node: MappingNode, loc: tuple) -> dict:
        if node.tag != _TAG + "map":
            raise self.fail(node, loc, f"unsupported tag {node.tag}")
        own: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self.key(key_node, loc)
            if key in own:
                first = self.lines.get(loc + (key,))
                raise self.fail(key_node, loc + (key,), f"duplicate key {key!r} (first on line {first})")
            key_line = key_node.start_mark.line + 1
            self.lines[loc + (key,)] = key_line
            own[key] = self.build(value_node, loc + (key,), key_line)
        merged: dict[str, Any] = {}
        for value_node in merges:  # explicit keys win, then earlier merge sources
            for source in self.merge_sources(value_node, loc):
                lines: dict[tuple, int] = {}
                values = _Builder(self.path, lines).mapping(source, loc)
                for k, v in values.items():
                    if k not in own and k not in merged:
                        merged[k] = v
                        prefix = loc + (k,)
                        for p, n in lines.items():
                            if p[: len(prefix)] == prefix:
                                self.lines.setdefault(p, n)
        return {**merged, **own}

    def merge_sources(self, node: Node, loc: tuple) -> list[MappingNode]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        if not all(isinstance(s, MappingNode) for s in sources):
            raise self.fail(node, loc, "a merge key (<<) needs a mapping or a list of mappings")
        return list(sources)

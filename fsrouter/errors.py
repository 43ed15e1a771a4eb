"""The one exception tree of fsrouter.

Every class has a stable ``code`` (for logs and exit codes) and structured attributes
instead of meaning hidden in a message string.
"""

from __future__ import annotations


class FsrouterError(Exception):
    """Base of every error fsrouter raises on purpose."""

    code = "fsrouter_error"


class ConfigError(FsrouterError):
    """One problem in the YAML configuration, located as ``path:line: field: message``.

    path: the file (str) the problem is in; line: 1-based line number or None;
    field: dotted field path (e.g. ``routing.group``) or "" for the whole file.
    """

    code = "config_error"

    def __init__(self, path: str, line: int | None, field: str, message: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigInvalid(FsrouterError):
    """A configuration folder failed validation; ``errors`` lists every ConfigError found."""

    code = "config_invalid"

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        super().__init__("\n".join(e.render() for e in self.errors))


class EslProtocolError(FsrouterError):
    """FreeSWITCH sent bytes that are not a valid ESL frame (or exceed a hard limit)."""

    code = "esl_protocol_error"


class EslTimeout(FsrouterError):
    """A wait for a reply or an event from FreeSWITCH ran out; ``timeout_s`` in seconds."""

    code = "esl_timeout"

    def __init__(self, what: str, timeout_s: float, call_uuid: str | None = None):
        self.what = what
        self.timeout_s = timeout_s
        self.call_uuid = call_uuid
        super().__init__(f"no {what} within {timeout_s:g} s")


class EslCommandRefused(FsrouterError):
    """FreeSWITCH answered a command with ``-ERR`` (``reply``: its Reply-Text), so what
    the command would start never comes (an execute's completion, say)."""

    code = "esl_command_refused"

    def __init__(self, command: str, reply: str | None):
        super().__init__(f"{command}: FreeSWITCH replied {reply!r}")
        self.command = command
        self.reply = reply


class EslUnavailable(FsrouterError):
    """The inbound event socket is not connected (FreeSWITCH down, restarting, refused auth)."""

    code = "esl_unavailable"


class CallHungUp(FsrouterError):
    """The call is gone (hangup or disconnect notice); unwinds the flow to its one handler."""

    code = "call_hung_up"

    def __init__(self, call_uuid: str | None = None, hangup_cause: str | None = None):
        self.call_uuid = call_uuid
        self.hangup_cause = hangup_cause
        super().__init__(f"call {call_uuid} hung up ({hangup_cause or 'unknown cause'})")


class StoreError(FsrouterError):
    """The store could not read or write (database down, constraint broken)."""

    code = "store_error"


class MelodyError(FsrouterError):
    """A melody file is missing, outside the allowed roots, or not an acceptable MP3."""

    code = "melody_error"


class TranscriptError(FsrouterError):
    """An ESL session transcript (``*.esl.jsonl``) is unreadable, located as ``path:line: message``.

    path: the file (str); line: 1-based line number or None (the whole file).
    """

    code = "transcript_error"

    def __init__(self, path: str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{self.line}: {message}" if line else f"{self.path}: {message}")

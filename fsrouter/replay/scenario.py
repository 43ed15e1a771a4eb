"""What happens on FreeSWITCH's side of a fake call (the caller, the rung endpoints), and
what the engine made FreeSWITCH run: the data of ``fsrouter.replay.fakefs``."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field


@dataclass
class Scenario:
    """What happens on the switch's side of one call.

    destination / caller: numbers (Caller-Destination-Number / Caller-Caller-ID-Number);
    created_us: Caller-Channel-Created-Time (µs since the epoch; default now);
    variables: extra channel variables at connect (``sip_to_user``, ``fsrouter_number`` ...);
    endpoints: dial-string endpoint (``user/102``) -> "answer" | "no_answer" | "busy" |
    "not_registered" | "rejected" | "no_user_response" (missing ones do not answer);
    digits: DTMF strings, one per ``play_and_get_digits`` in order ("" = no input);
    hangup_during: application name during whose first run the caller hangs up
    (``"playback"``, ``"bridge"``: after the callee answered, ``"ringing"``: during a bridge
    before anyone answers, ``"record"``, ``"play_and_get_digits"``);
    hangup_on_execute: the caller hangs up during the Nth (1-based) execute, any app;
    talk_s: seconds a bridged conversation lasts; record_seconds: length of a recording;
    session_record_ms: length of a ``record_session`` recording when it stops (the file is
    written with the matching WAV size, capture 04: 2020 ms stereo = 64,684 bytes);
    transfer_to: during an answered bridge the employee transfers the caller to this
    extension: a second CHANNEL_BRIDGE with a new Other-Leg-Unique-ID (emulated, no capture);
    hangup_delay_s: seconds between the ``+OK`` to the app's ``sendmsg hangup`` and the
    hangup events (a real switch: up to ~20 ms, its poll period, PROTOCOL-NOTES §9);
    refused_app: an application whose ``sendmsg execute`` gets ``-ERR`` and never runs
    (mod_event_socket's reply for a session it cannot find).
    """

    destination: str = "+380441234567"
    caller: str = "+380501112233"
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    created_us: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    digits: list[str] = field(default_factory=list)
    hangup_during: str | None = None
    hangup_on_execute: int | None = None
    talk_s: float = 0.0
    playback_s: float = 0.0
    record_seconds: int = 7
    caller_cause: str = "NORMAL_CLEARING"
    session_record_ms: int = 2020
    transfer_to: str | None = None
    hangup_delay_s: float = 0.0
    refused_app: str | None = None


@dataclass
class Executed:
    """One application the engine ran: name, argument and the Event-UUID it sent."""

    app: str
    arg: str | None
    event_uuid: str | None

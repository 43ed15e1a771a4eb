"""FreeSWITCH's vocabulary, spelled once: content types, header names, event names,
channel variables, hangup causes and Application-Response values.

Every string here was seen on the wire of a real FreeSWITCH 1.11.1 (the captures in
``shared/esl-sessions/``, see its PROTOCOL-NOTES.md) or is named in the references:

- mod_event_socket (commands, content types, disconnect notices):
  https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_event_socket_1048924
- outbound mode (``socket`` app, ``async full``, linger):
  https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Client-and-Developer-Interfaces/Event-Socket-Library/Event-Socket-Outbound_3375460
- dptools, the applications run with ``sendmsg execute`` (answer, playback, bridge, ...):
  https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Modules/mod_dptools_1970333
- hangup causes (names from ``switch_channel.c`` CAUSE_CHART):
  https://developer.signalwire.com/freeswitch/FreeSWITCH-Explained/Troubleshooting-Debugging/Hangup-Cause-Code-Table_3964945

The groups are plain classes of ``str`` constants (no Enum): values compare directly
with what the parser returns, at no cost.
"""

from __future__ import annotations


class ContentType:
    """Values of the outer ``Content-Type`` header of a frame."""

    COMMAND_REPLY = "command/reply"  # reply to a command; the connect reply is one too
    API_RESPONSE = "api/response"  # reply to ``api``; the raw result is the body
    EVENT_PLAIN = "text/event-plain"  # event as url-encoded ``Name: value`` lines
    EVENT_JSON = "text/event-json"  # event as one JSON object (values not url-encoded)
    EVENT_XML = "text/event-xml"  # event as XML (``event xml``); not parsed here
    DISCONNECT_NOTICE = "text/disconnect-notice"  # linger notice or the final goodbye
    AUTH_REQUEST = "auth/request"  # inbound mode only: FS asks for ``auth <password>``
    RUDE_REJECTION = "text/rude-rejection"  # inbound mode: refused by ACL, then closed
    LOG_DATA = "log/data"  # log lines after a ``log`` command
    TEXT_PLAIN = "text/plain"  # body of a command we send (e.g. a long execute-app-arg)


class Header:
    """Header names: outer frame headers, event headers and ``sendmsg`` headers."""

    # outer framing
    CONTENT_TYPE = "Content-Type"
    CONTENT_LENGTH = "Content-Length"  # bytes of body that follow the blank line
    REPLY_TEXT = "Reply-Text"  # "+OK ..." / "-ERR ..."; url-encoded in the connect reply only
    JOB_UUID = "Job-UUID"  # bgapi reply and BACKGROUND_JOB event
    SOCKET_MODE = "Socket-Mode"  # connect reply: "async" or "static"
    CONTROL = "Control"  # connect reply: "full" or "single-channel"
    # disconnect notice
    CONTENT_DISPOSITION = "Content-Disposition"  # see Disposition
    CONTROLLED_SESSION_UUID = "Controlled-Session-UUID"
    LINGER_TIME = "Linger-Time"  # seconds, "-1" for a bare ``linger``
    CHANNEL_NAME = "Channel-Name"
    # every event
    EVENT_NAME = "Event-Name"
    EVENT_SUBCLASS = "Event-Subclass"  # CUSTOM events only
    EVENT_SEQUENCE = "Event-Sequence"
    EVENT_DATE_TIMESTAMP = "Event-Date-Timestamp"  # microseconds since the epoch
    CORE_UUID = "Core-UUID"  # the FreeSWITCH instance
    UNIQUE_ID = "Unique-ID"  # the channel the event is about
    ANSWER_STATE = "Answer-State"  # ringing / early / answered / hangup
    CHANNEL_STATE = "Channel-State"  # CS_EXECUTE, CS_HANGUP, ...
    CHANNEL_CALL_STATE = "Channel-Call-State"  # RINGING, ACTIVE, HANGUP, ...
    CALLER_DESTINATION_NUMBER = "Caller-Destination-Number"
    CALLER_CALLER_ID_NUMBER = "Caller-Caller-ID-Number"
    CALLER_CALLER_ID_NAME = "Caller-Caller-ID-Name"
    CALLER_CHANNEL_CREATED_TIME = "Caller-Channel-Created-Time"  # microseconds since the epoch
    CALLER_CHANNEL_ANSWERED_TIME = "Caller-Channel-Answered-Time"  # microseconds, 0 if never
    CALLER_CHANNEL_HANGUP_TIME = "Caller-Channel-Hangup-Time"  # microseconds, 0 while up
    # CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE
    APPLICATION = "Application"
    APPLICATION_DATA = "Application-Data"
    APPLICATION_UUID = "Application-UUID"  # echoes the Event-UUID we sent with execute
    APPLICATION_UUID_NAME = "Application-UUID-Name"  # echoes Event-UUID-Name
    APPLICATION_RESPONSE = "Application-Response"  # see AppResponse
    # hangup, DTMF, bridge, background jobs
    HANGUP_CAUSE = "Hangup-Cause"
    DTMF_DIGIT = "DTMF-Digit"
    DTMF_DURATION = "DTMF-Duration"  # in samples (8 kHz: 2000 = 250 ms)
    DTMF_SOURCE = "DTMF-Source"  # RTP (RFC 2833), ENDPOINT (SIP INFO), UNKNOWN
    BRIDGE_A_UNIQUE_ID = "Bridge-A-Unique-ID"
    BRIDGE_B_UNIQUE_ID = "Bridge-B-Unique-ID"
    OTHER_LEG_UNIQUE_ID = "Other-Leg-Unique-ID"
    OTHER_LEG_CHANNEL_NAME = "Other-Leg-Channel-Name"
    OTHER_LEG_DESTINATION_NUMBER = "Other-Leg-Destination-Number"  # what the other leg dialed
    OTHER_LEG_CALLER_ID_NUMBER = "Other-Leg-Caller-ID-Number"
    JOB_OWNER_UUID = "Job-Owner-UUID"  # the controlled channel, for an outbound bgapi
    JOB_COMMAND = "Job-Command"
    JOB_COMMAND_ARG = "Job-Command-Arg"
    # headers of the sendmsg we send (lowercase as FreeSWITCH documents them)
    CALL_COMMAND = "call-command"  # execute / hangup / unicast / nomedia ...
    EXECUTE_APP_NAME = "execute-app-name"
    EXECUTE_APP_ARG = "execute-app-arg"
    EVENT_UUID = "Event-UUID"  # our id for an execute; comes back as Application-UUID
    EVENT_UUID_NAME = "Event-UUID-Name"
    EVENT_LOCK = "event-lock"  # "true": queue the app behind the running one (PROTOCOL-NOTES §4)
    LOOPS = "loops"  # run the app N times (stops early if a run took < 0.5 s)
    HANGUP_CAUSE_LOWER = "hangup-cause"  # the sendmsg hangup header
    CONTENT_TYPE_LOWER = "content-type"  # as sent with a body argument (capture 14)
    CONTENT_LENGTH_LOWER = "content-length"


class EventName:
    """Values of ``Event-Name``."""

    CHANNEL_CREATE = "CHANNEL_CREATE"
    CHANNEL_DESTROY = "CHANNEL_DESTROY"
    CHANNEL_STATE = "CHANNEL_STATE"
    CHANNEL_CALLSTATE = "CHANNEL_CALLSTATE"  # not in myevents
    CHANNEL_DATA = "CHANNEL_DATA"  # the connect reply's Event-Name
    CHANNEL_PARK = "CHANNEL_PARK"  # async mode, right after the first command
    CHANNEL_UNPARK = "CHANNEL_UNPARK"
    CHANNEL_EXECUTE = "CHANNEL_EXECUTE"
    CHANNEL_EXECUTE_COMPLETE = "CHANNEL_EXECUTE_COMPLETE"
    CHANNEL_ANSWER = "CHANNEL_ANSWER"
    CHANNEL_PROGRESS = "CHANNEL_PROGRESS"
    CHANNEL_PROGRESS_MEDIA = "CHANNEL_PROGRESS_MEDIA"
    CHANNEL_ORIGINATE = "CHANNEL_ORIGINATE"
    CHANNEL_OUTGOING = "CHANNEL_OUTGOING"
    CHANNEL_BRIDGE = "CHANNEL_BRIDGE"
    CHANNEL_UNBRIDGE = "CHANNEL_UNBRIDGE"
    CHANNEL_HANGUP = "CHANNEL_HANGUP"
    CHANNEL_HANGUP_COMPLETE = "CHANNEL_HANGUP_COMPLETE"  # never sent in sync mode (13)
    CHANNEL_APPLICATION = "CHANNEL_APPLICATION"
    CHANNEL_UUID = "CHANNEL_UUID"
    DTMF = "DTMF"
    BACKGROUND_JOB = "BACKGROUND_JOB"  # result of bgapi, in the event's own body
    API = "API"
    CUSTOM = "CUSTOM"  # see Event-Subclass
    HEARTBEAT = "HEARTBEAT"
    RECORD_START = "RECORD_START"
    RECORD_STOP = "RECORD_STOP"
    PLAYBACK_START = "PLAYBACK_START"  # not in myevents
    PLAYBACK_STOP = "PLAYBACK_STOP"  # not in myevents
    CALL_UPDATE = "CALL_UPDATE"
    PRIVATE_COMMAND = "PRIVATE_COMMAND"  # our own sendmsg, seen with ``event ... ALL``
    DETECTED_SPEECH = "DETECTED_SPEECH"
    TALK = "TALK"
    NOTALK = "NOTALK"
    ALL = "ALL"  # subscription keyword: ``event plain ALL``


#: The event types ``myevents`` subscribes to, a fixed list in mod_event_socket
#: (PROTOCOL-NOTES §6); ``nixevent`` takes some of them back.
MYEVENTS_TYPES = (
    EventName.CHANNEL_ANSWER, EventName.CHANNEL_APPLICATION, EventName.CHANNEL_BRIDGE,
    EventName.CHANNEL_CREATE, EventName.CHANNEL_DATA, EventName.CHANNEL_DESTROY, EventName.CHANNEL_EXECUTE,
    EventName.CHANNEL_EXECUTE_COMPLETE, EventName.CHANNEL_HANGUP, EventName.CHANNEL_HANGUP_COMPLETE,
    EventName.CHANNEL_ORIGINATE, EventName.CHANNEL_UUID, EventName.CHANNEL_OUTGOING, EventName.CHANNEL_PARK,
    EventName.CHANNEL_PROGRESS, EventName.CHANNEL_PROGRESS_MEDIA, EventName.CHANNEL_STATE,
    EventName.CHANNEL_UNBRIDGE, EventName.CHANNEL_UNPARK, EventName.DETECTED_SPEECH, EventName.DTMF,
    EventName.NOTALK, EventName.TALK,
)


class Var:
    """Channel variable names (events carry them as ``variable_<name>``)."""

    PREFIX = "variable_"  # event header prefix of a channel variable
    UUID = "uuid"
    HANGUP_CAUSE = "hangup_cause"
    HANGUP_CAUSE_Q850 = "hangup_cause_q850"
    ORIGINATE_DISPOSITION = "originate_disposition"  # bridge outcome: SUCCESS or a cause
    DIALSTATUS = "DIALSTATUS"  # bridge outcome, Asterisk style: see DialStatus
    LAST_BRIDGE_HANGUP_CAUSE = "last_bridge_hangup_cause"
    ORIGINATE_FAILED_CAUSE = "originate_failed_cause"  # unset on success
    ORIGINATE_CAUSES = "originate_causes"
    ORIGINATED_LEGS = "originated_legs"
    BRIDGE_HANGUP_CAUSE = "bridge_hangup_cause"  # set only when the bridge was answered
    BRIDGE_UUID = "bridge_uuid"
    LAST_BRIDGE_TO = "last_bridge_to"
    SIGNAL_BOND = "signal_bond"
    HANGUP_AFTER_BRIDGE = "hangup_after_bridge"  # "false": control comes back after bridge
    CONTINUE_ON_FAIL = "continue_on_fail"  # "true": a failed bridge does not hang up (21)
    ORIGINATE_TIMEOUT = "originate_timeout"  # seconds of ringing before NO_ANSWER
    ABSOLUTE_CODEC_STRING = "absolute_codec_string"
    READ_RESULT = "read_result"  # play_and_get_digits: see ReadResult
    READ_TERMINATOR_USED = "read_terminator_used"  # not cleared between calls: don't trust alone
    SIP_TO_USER = "sip_to_user"
    SIP_TO_PARAMS = "sip_to_params"
    SIP_TO_URI = "sip_to_uri"
    SIP_REQ_USER = "sip_req_user"
    SIP_FROM_USER = "sip_from_user"
    SIP_HANGUP_DISPOSITION = "sip_hangup_disposition"  # e.g. recv_bye
    SIP_TERM_STATUS = "sip_term_status"
    FSROUTER_NUMBER = "fsrouter_number"  # ours: the DID the router resolved
    FSROUTER_DIRECTION = "fsrouter_direction"  # ours: "outbound" for calls employees place (dialplan)
    ORIGINATION_CALLER_ID_NUMBER = "origination_caller_id_number"  # caller ID a new leg presents
    USER_NAME = "user_name"  # the directory user a SIP call authenticated as
    RECORD_SECONDS = "record_seconds"  # length of the last recording, whole seconds
    RECORD_MS = "record_ms"  # length of the last recording, milliseconds
    RECORD_FILE_SIZE = "record_file_size"  # bytes of the last recording (set when it stops, 04)
    RECORD_SAMPLES = "record_samples"
    RECORD_COMPLETION_CAUSE = "record_completion_cause"
    TRANSFER_HISTORY = "transfer_history"  # "epoch:uuid:kind:destination", several joined by "|"
    RECORD_STEREO = "RECORD_STEREO"  # "true": caller and callee on separate channels
    CURRENT_APPLICATION = "current_application"
    CURRENT_APPLICATION_RESPONSE = "current_application_response"
    ENDPOINT_DISPOSITION = "endpoint_disposition"
    SOCKET_RESUME = "socket_resume"  # "true": dialplan continues after the socket app ends


class HangupCause:
    """Hangup cause names (``Hangup-Cause``, ``hangup-cause:``, bridge variables)."""

    NORMAL_CLEARING = "NORMAL_CLEARING"  # Q.850 16
    USER_BUSY = "USER_BUSY"  # 17, SIP 486
    NO_USER_RESPONSE = "NO_USER_RESPONSE"  # 18, SIP 408
    NO_ANSWER = "NO_ANSWER"  # 19, rang until originate_timeout
    SUBSCRIBER_ABSENT = "SUBSCRIBER_ABSENT"  # 20, SIP 480
    CALL_REJECTED = "CALL_REJECTED"  # 21, SIP 603
    UNALLOCATED_NUMBER = "UNALLOCATED_NUMBER"  # 1, SIP 404
    NO_ROUTE_DESTINATION = "NO_ROUTE_DESTINATION"  # 3
    DESTINATION_OUT_OF_ORDER = "DESTINATION_OUT_OF_ORDER"  # 27; also: unknown application (03)
    INVALID_NUMBER_FORMAT = "INVALID_NUMBER_FORMAT"  # 28
    NORMAL_UNSPECIFIED = "NORMAL_UNSPECIFIED"  # 31
    NORMAL_CIRCUIT_CONGESTION = "NORMAL_CIRCUIT_CONGESTION"  # 34, SIP 503
    NETWORK_OUT_OF_ORDER = "NETWORK_OUT_OF_ORDER"  # 38
    NORMAL_TEMPORARY_FAILURE = "NORMAL_TEMPORARY_FAILURE"  # 41
    SWITCH_CONGESTION = "SWITCH_CONGESTION"  # 42
    INCOMPATIBLE_DESTINATION = "INCOMPATIBLE_DESTINATION"  # 88, no common codec
    RECOVERY_ON_TIMER_EXPIRE = "RECOVERY_ON_TIMER_EXPIRE"  # 102, SIP 504
    ORIGINATOR_CANCEL = "ORIGINATOR_CANCEL"  # 487: the caller gave up first
    USER_NOT_REGISTERED = "USER_NOT_REGISTERED"  # 606: user/ endpoint without registration
    MEDIA_TIMEOUT = "MEDIA_TIMEOUT"  # 604: RTP stopped
    ALLOTTED_TIMEOUT = "ALLOTTED_TIMEOUT"  # 602
    LOSE_RACE = "LOSE_RACE"  # 502: another leg of a parallel bridge answered
    MANAGER_REQUEST = "MANAGER_REQUEST"  # 503: killed with uuid_kill / api


class AppResponse:
    """Values of ``Application-Response`` in CHANNEL_EXECUTE_COMPLETE."""

    NONE = "_none_"  # answer, set, bridge, play_and_get_digits, record ...: no verdict
    FILE_PLAYED = "FILE PLAYED"  # playback ran to its end (or was stopped by uuid_break)
    PLAYBACK_ERROR = "PLAYBACK ERROR"  # playback cut short, e.g. by the caller's hangup
    FILE_NOT_FOUND = "FILE NOT FOUND"


class Disposition:
    """Values of ``Content-Disposition`` in a text/disconnect-notice."""

    LINGER = "linger"  # channel is down; the socket stays open (FS closes after Linger-Time)
    DISCONNECT = "disconnect"  # goodbye: FS closes the socket right after this frame


class DialStatus:
    """Values of the ``DIALSTATUS`` variable seen after ``bridge``; other failures put
    the hangup cause name there (``USER_NOT_REGISTERED``, ``INCOMPATIBLE_DESTINATION``)."""

    SUCCESS = "SUCCESS"
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"


class ReadResult:
    """Values of ``read_result`` after play_and_get_digits / read (PROTOCOL-NOTES §4)."""

    SUCCESS = "success"  # also for input that failed the regex (see <var>_invalid)
    FAILURE = "failure"  # no input before the timeout
    TIMEOUT = "timeout"


class Reply:
    """Prefixes and special values of replies (Reply-Text and api/response bodies)."""

    OK = "+OK"
    ERR = "-ERR"
    UNDEF = "_undef_"  # ``api uuid_getvar`` of an unset variable

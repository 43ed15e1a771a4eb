"""The WIRE layer: ESL frames, the frame parser, command serializers and FreeSWITCH names.

Stdlib only; no sockets here. ``esl`` <- ``session`` <- ``flow``: nothing in this
package imports other fsrouter packages except :mod:`fsrouter.errors`.
"""

from .frame import Event, Frame
from .parser import FrameParser

__all__ = ["Event", "Frame", "FrameParser"]

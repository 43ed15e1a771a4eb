"""Step 3: the greeting with extension dialing (a key press stops the greeting).

The greeting is the prompt of one ``play_and_get_digits``: FreeSWITCH plays it, stops it at
the first key (barge-in) and keeps collecting digits until ``#``, the longest extension's
length, or ``digit_timeout`` seconds without a key (also after the greeting ended).
"""

from __future__ import annotations

from fsrouter.flow.nodes.employee import dial_extension

#: Digits the caller may key (the ``play_and_get_digits`` regex).
DIGITS = r"\d+"


class GreetingWithExtension:
    """Play the greeting while collecting an extension; ring its employee.

    settings: the line's ``routing.extension_dialing``; max_digits: the longest extension
    in employees.yaml. Outcomes: ``answered``; ``done`` (a voice message was taken);
    ``next`` (no digits, unknown extension, or no answer with ``no_answer: continue``).
    """

    name = "greeting"
    outcomes = ("answered", "done", "next")

    def __init__(self, settings, max_digits: int):
        self.settings = settings
        self.max_digits = max_digits

    def run(self, ctx) -> str:
        melody = ctx.melody("greeting")
        digits = ctx.call.play_and_get_digits(
            melody, min_digits=1, max_digits=self.max_digits, tries=1, terminators="#", regex=DIGITS,
            timeout_s=self.settings.digit_timeout, digit_timeout_s=self.settings.digit_timeout)
        ctx.step("greeting", melody=melody, digits=digits)
        if not digits:
            return "next"
        outcome = dial_extension(ctx, digits, self.settings)
        return "next" if outcome == "unknown" else outcome

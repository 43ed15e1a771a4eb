"""Step 4: the IVR voice menu (ivr.yaml), nested menus walked with a stack.

Each turn plays the menu's prompt with ``play_and_get_digits`` (one key; a key stops the
prompt) and waits ``digit_timeout`` seconds. No key: ``on_timeout`` (default: repeat,
after the ``ivr_timeout`` melody); a key the menu does not have: ``on_invalid`` (default:
repeat, after ``ivr_invalid``). Timeouts and invalid keys count against the menu's
``max_attempts``, also when ``on_timeout`` / ``on_invalid`` leads back to the menu itself
(``{menu: main}`` inside main is a repeat without the melody, not a fresh start); when they
are used up the caller hears ``goodbye`` and is hung up. Menus may lead to each other in a
loop, so a call hears at most MAX_PROMPTS menu prompts: then ``goodbye`` and hang-up too
(a silent caller in a loop of two menus whose timeouts lead to each other ends there).
"""

from __future__ import annotations

from fsrouter.esl import names as N
from fsrouter.flow.nodes.employee import after_no_answer, dial_extension, ring_one
from fsrouter.flow.nodes.group import GroupNoAnswer, RingGroup
from fsrouter.flow.nodes.voicemail import take_voicemail

#: Every DTMF key a menu may have (the ``play_and_get_digits`` regex: one key).
MENU_KEY = "[0-9*#]"
#: Prompt while the caller keys an extension after ``dial_extension``: the menu's own prompt
#: said "press # and dial the extension", so the caller just goes on keying.
EXTENSION_PROMPT = "silence_stream://250"
#: Menu prompts one call may hear in all, whatever the menus do (loops included).
MAX_PROMPTS = 50


class Ivr:
    """Walk the menus from ``root`` (a menu id).

    menus: id -> flow.model.Menu; extension: the line's ``routing.extension_dialing``
    (ring_time and no_answer for ``{employee: ...}`` and ``dial_extension``); max_digits:
    the longest extension; crm_responsible: the line's step 5 node (CrmResponsible) or
    None: a key that leads to a group (a queue, step 6) rings the caller's responsible
    manager first, in the spec's order; a key that names an employee does not.
    Outcomes: ``answered``; ``done`` (voicemail, hang-up, a group's no-answer action,
    attempts used up); ``next`` (an employee did not answer and their no_answer says
    continue: the remaining routing steps follow).
    """

    name = "ivr"
    outcomes = ("answered", "done", "next")

    def __init__(self, root: str, menus, extension, max_digits: int, crm_responsible=None):
        self.root = root
        self.menus = menus
        self.extension = extension
        self.max_digits = max_digits
        self.crm_responsible = crm_responsible

    def run(self, ctx) -> str:
        stack = [self.root]
        failures = 0
        prompts = 0
        while True:
            menu = self.menus[stack[-1]]
            if prompts >= MAX_PROMPTS:
                ctx.step("ivr", menu=menu.id, result="prompts_exhausted", max_prompts=MAX_PROMPTS)
                return self._goodbye(ctx)
            prompts += 1
            key = ctx.call.play_and_get_digits(self._prompt(ctx, menu), min_digits=1, max_digits=1, tries=1,
                                               timeout_s=menu.digit_timeout, terminators="none", regex=MENU_KEY)
            if key is None or key not in menu.keys:
                failures += 1
                result = "timeout" if key is None else "invalid"
                action = (menu.on_timeout if key is None else menu.on_invalid)
                kind, target = (action.kind, action.target) if action else ("repeat", None)
                ctx.step("ivr", menu=menu.id, key=key, result=result, action=kind, target=target,
                         attempt=failures, max_attempts=menu.max_attempts)
                again = kind == "menu" and target == menu.id  # re-entering itself: still this menu's attempts
                if kind in ("repeat", "back") or again:
                    if failures >= menu.max_attempts:
                        return self._give_up(ctx, menu)
                    if again:
                        continue
                    ctx.call.playback(ctx.melody("ivr_timeout" if key is None else "ivr_invalid"))
            else:
                action = menu.keys[key]
                kind, target = action.kind, action.target
                ctx.step("ivr", menu=menu.id, key=key, action=kind, target=target)
            if kind == "menu":
                stack.append(target)
                failures = 0
            elif kind == "back":
                if len(stack) > 1:
                    stack.pop()
                    failures = 0
            elif kind == "repeat":
                pass
            elif kind == "play":
                ctx.call.playback(ctx.services.melodies.file(target))
            else:
                outcome = self._leave(ctx, kind, target)
                if outcome != "stay":
                    return outcome
                failures += 1
                if failures >= menu.max_attempts:
                    return self._give_up(ctx, menu)

    def _prompt(self, ctx, menu) -> str:
        if menu.prompt == "default":
            return ctx.services.melodies.builtin(ctx.line.language, "ivr_menu")
        return ctx.services.melodies.file(menu.prompt)

    def _give_up(self, ctx, menu) -> str:
        ctx.step("ivr", menu=menu.id, result="attempts_exhausted", max_attempts=menu.max_attempts)
        return self._goodbye(ctx)

    def _goodbye(self, ctx) -> str:
        ctx.call.playback(ctx.melody("goodbye"))
        ctx.call.hangup(N.HangupCause.NORMAL_CLEARING)
        return "done"

    def _leave(self, ctx, kind: str, target: str | None) -> str:
        """Do an action that leaves the menus; "stay" when the caller is back in the menu
        (dial_extension with no or an unknown extension)."""
        if kind == "group":
            if self.crm_responsible is not None:  # step 5 before the queue
                outcome = self.crm_responsible.run(ctx)
                if outcome != "next":
                    return outcome
            group = ctx.config.groups[target]
            if RingGroup(group).run(ctx) == "answered":
                return "answered"
            GroupNoAnswer(group, ctx.line.outbound.gateway).run(ctx)
            return "done"
        if kind == "employee":
            employee = ctx.config.employees[target]
            outcome = ring_one(ctx, employee, ring_time_s=self.extension.ring_time, step="ivr_employee")
            if outcome == "answered":
                return "answered"
            return after_no_answer(ctx, employee, self.extension.no_answer, outcome=outcome,
                                   ring_time_s=self.extension.ring_time, step="ivr_employee")
        if kind == "voicemail":
            take_voicemail(ctx, target, step="ivr_voicemail")
            return "done"
        if kind == "dial_extension":
            digits = ctx.call.play_and_get_digits(
                EXTENSION_PROMPT, min_digits=1, max_digits=self.max_digits, tries=1,
                terminators="#", regex=r"\d+", timeout_s=self.extension.digit_timeout,
                digit_timeout_s=self.extension.digit_timeout)
            if not digits:
                ctx.step("ivr_extension", extension=None, result="timeout")
                return "stay"
            outcome = dial_extension(ctx, digits, self.extension, step="ivr_extension")
            return "stay" if outcome == "unknown" else outcome
        # hangup
        ctx.call.hangup(N.HangupCause.NORMAL_CLEARING)
        return "done"

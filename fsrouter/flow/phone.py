"""E.164 helpers over ``phonenumbers``.

Policy for numbers written in YAML (:func:`to_e164`): E.164 only, ``+`` then the digits
(spaces, dots, dashes or parentheses are refused with the E.164 form to write instead: the
config contract says E.164, and a silently rewritten number would not be found by grep),
and ``phonenumbers.is_valid_number`` must accept it. Validity rather than mere possibility
catches typos such as a digit too many (``+3804412345678`` is "possible" for Ukraine but not
valid); the cost is that a range too new for the installed ``phonenumbers`` metadata is
refused until the package is upgraded.

Numbers arriving on calls (:func:`normalize`) are read leniently: E.164, national
(``0441234567``), international without ``+`` (``380441234567``) or with the ``00``
exit code are all normalised using the configured home region.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

_SEPARATORS = re.compile(r"[\s.\-()]")
_E164_SHAPE = re.compile(r"^\+[1-9][0-9]{1,14}$")


def to_e164(text: str) -> str:
    """Return ``text`` as a canonical E.164 string (``+380441234567``).

    Raises ValueError with a message fit for an operator when the text is not ``+`` and
    digits, or not a valid number for its country calling code.
    """
    compact = _SEPARATORS.sub("", str(text))
    if not _E164_SHAPE.match(compact):
        raise ValueError(f"{text!r} is not an E.164 number ('+', country code and digits, e.g. +380441234567)")
    try:
        parsed = phonenumbers.parse(compact, None)
    except NumberParseException as exc:
        raise ValueError(f"{text!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{text!r} is not a valid number for country code +{parsed.country_code}")
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if compact != text:
        raise ValueError(f"{text!r} has separators: write it in E.164, '+' and digits only: \"{e164}\"")
    return e164


def valid_number(number: str, region: str) -> str | None:
    """Like :func:`normalize`, but only a *valid* number (``phonenumbers.is_valid_number``:
    a real range of its country, e.g. not ``12345``) gives its E.164 form; else None."""
    e164 = normalize(number, region)
    if e164 is None or not phonenumbers.is_valid_number(phonenumbers.parse(e164, None)):
        return None
    return e164


def normalize(number: str, region: str) -> str | None:
    """Best-effort E.164 form of a dialed or presented number, or None when it is not one.

    ``region`` is the ISO region (e.g. "UA") used to read national numbers. A number that
    parses but is not even a *possible* number (too short, e.g. an extension) gives None.
    """
    text = _SEPARATORS.sub("", str(number or ""))
    if not text or not re.match(r"^\+?[0-9]+$", text):
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def is_region(code: str) -> bool:
    """True when ``code`` is an ISO 3166 region that ``phonenumbers`` can parse numbers for."""
    return code in phonenumbers.SUPPORTED_REGIONS


def country_code_prefix(digits: str) -> str | None:
    """The assigned country calling code (1 to 3 digits) that ``digits`` starts with, or None.

    ``"380"`` -> ``"380"``, ``"123"`` -> ``"1"``, ``"44"`` -> ``"44"``, ``"801"`` -> None.
    Uses ``phonenumbers.COUNTRY_CODE_TO_REGION_CODE`` (geographic and non-geographic codes).
    """
    if not digits[:1].isdigit() or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        head = digits[:size]
        if len(head) == size and head.isdigit() and int(head) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return head
    return None

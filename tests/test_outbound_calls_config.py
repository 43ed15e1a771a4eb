"""Load-time rules for outgoing calls: national dialing prefixes, gateways, selectable lines."""

from __future__ import annotations

import pytest

from fsrouter.errors import ConfigInvalid
from fsrouter.flow.loader import load_config
from tests.harness import SETTINGS, write_config

LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    routing: {{greeting: false, group: sales}}
    outbound: {{{outbound}}}
"""


def _load(tmp_path, outbound: str, *, settings: str = SETTINGS, employees: str | None = None):
    kwargs = {"employees": employees} if employees else {}
    return load_config(write_config(tmp_path / "config", settings=settings,
                                    lines={"kyiv": LINE.format(outbound=outbound)}, **kwargs))


def _errors(tmp_path, outbound: str, **kwargs) -> list:
    with pytest.raises(ConfigInvalid) as info:
        _load(tmp_path, outbound, **kwargs)
    return info.value.errors


@pytest.mark.parametrize("prefix", ["0", "044", "00", "0801"])
def test_a_digits_only_prefix_starting_with_0_is_refused_because_national_numbers_start_so(tmp_path, prefix):
    (error,) = _errors(tmp_path, f'selectable: true, prefix: "{prefix}", gateway: trunk')
    assert error.field == "outbound.prefix"
    assert "starts like a number dialed in UA ('0'" in error.message


def test_a_prefix_starting_with_the_home_countrys_own_trunk_prefix_is_refused(tmp_path):
    (error,) = _errors(tmp_path, 'selectable: true, prefix: "801", gateway: trunk',
                       settings=SETTINGS.replace("country: UA", "country: RU"))
    assert "starts like a number dialed in RU ('8'" in error.message


@pytest.mark.parametrize("prefix", ["*0*", "#044#", "801", "999"])
def test_prefixes_with_star_or_hash_or_digits_outside_any_dialing_prefix_still_load(tmp_path, prefix):
    config = _load(tmp_path, f'selectable: true, prefix: "{prefix}", gateway: trunk')
    assert config.lines["kyiv"].outbound.prefix == prefix


def test_a_selectable_line_with_a_prefix_but_no_gateway_is_refused(tmp_path):
    (error,) = _errors(tmp_path, 'selectable: true, prefix: "*1*"')
    assert (error.field, error.message) == ("outbound.gateway",
                                            "the prefix '*1*' dials out through outbound.gateway: set it")


def test_a_default_line_without_a_gateway_is_refused_naming_whose_default_it_is(tmp_path):
    employees = 'employees:\n  alice: {name: Alice, extension: "101", endpoint: user/101, default_line: kyiv}\n'
    groups_need = employees + '  bob: {name: Bob, extension: "102", endpoint: user/102}\n' \
                              '  carol: {name: Carol, extension: "103", endpoint: user/103}\n'
    (error,) = _errors(tmp_path, "selectable: false", employees=groups_need)
    assert error.field == "outbound.gateway" and "default line of alice" in error.message


def test_outbound_line_for_skips_a_line_that_is_not_selectable(tmp_path):
    config = _load(tmp_path, 'selectable: false, prefix: "*1*", gateway: trunk')
    assert config.outbound_line_for("*1*380954558888") is None

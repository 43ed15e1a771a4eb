"""CRM matching by phone, and voicemails."""

from __future__ import annotations

import pytest

from fsrouter.store import CrmMatch, VoicemailRecord
from tests.store_fixtures import T0, backend, clock, pg_schema, spool_dir, store, store_url  # noqa: F401

PHONE = "+380441234567"


def test_a_contact_wins_over_a_company_which_wins_over_a_lead(store):
    crm = store.crm
    lead = crm.add_lead(phone=PHONE, line="kyiv-main", source="ads-march", responsible="carol")
    assert crm.match(PHONE) == CrmMatch("lead", lead, PHONE, "carol")
    company = crm.add_company(name="Acme", phones=["+380440000000", PHONE], responsible="bob")
    assert crm.match(PHONE) == CrmMatch("company", company, "Acme", "bob")
    contact = crm.add_contact(name="Olena", phones=[PHONE], responsible="alice", company="Acme")
    assert crm.match(PHONE) == CrmMatch("contact", contact, "Olena", "alice")
    assert crm.match("+380440000000") == CrmMatch("company", company, "Acme", "bob")


def test_among_entities_of_one_type_the_oldest_wins(store):
    first = store.crm.add_contact(name="First", phones=[PHONE], responsible=None)
    store.crm.add_contact(name="Second", phones=[PHONE], responsible="bob")
    assert store.crm.match(PHONE) == CrmMatch("contact", first, "First", None)


def test_an_unknown_phone_matches_nothing(store):
    store.crm.add_contact(name="Olena", phones=[PHONE], responsible="alice")
    assert store.crm.match("+380509999999") is None


@pytest.mark.parametrize("phone", ["0441234567", "380441234567", "+0441234567", "anonymous", ""])
def test_phones_that_are_not_e164_are_refused(store, phone):
    with pytest.raises(ValueError, match="E.164"):
        store.crm.add_contact(name="X", phones=[phone], responsible=None)
    with pytest.raises(ValueError, match="E.164"):
        store.crm.match(phone)


def test_a_voicemail_gets_an_id_and_comes_back_with_its_call(store, clock):
    first = store.voicemails.add(call_uuid="c1", line="kyiv-main", employee="bob", path="/vm/1.wav", duration_s=12.5)
    clock.advance(30)
    second = store.voicemails.add(call_uuid="c1", line="kyiv-main", employee=None, path="/vm/2.wav", duration_s=None)
    store.voicemails.add(call_uuid="c2", line=None, employee=None, path="/vm/3.wav", duration_s=1)
    assert first == VoicemailRecord(first.id, "c1", "kyiv-main", "bob", "/vm/1.wav", 12.5, T0)
    assert isinstance(first.id, int) and second.id != first.id
    assert store.voicemails.for_call("c1") == [first, second]
    assert store.voicemails.for_call("nothing") == []

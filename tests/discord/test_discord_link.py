"""Startup, /support link (modal, good and wrong keys, throttling), languages, autocomplete."""

from __future__ import annotations

import pytest

from bot.ports import LicenceUnavailable
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, CAROL, EPHEMERAL, link, link_core


async def test_commands_are_synced_to_the_guild_with_french_descriptions(rig: Rig) -> None:
    [sync] = rig.fake.find("PUT", rf"/applications/{p.APP_ID}/guilds/{p.GUILD_ID}/commands")
    commands = {c["name"]: c for c in sync.body}
    assert set(commands) == {"support", "ticket"}
    subs = {o["name"] for o in commands["ticket"]["options"]}
    assert subs == {"open", "status", "list", "close"}
    assert commands["ticket"]["description_localizations"]["fr"] == "Tickets de support"
    assert not rig.fake.find("PUT", r"/applications/\d+/commands")  # nothing global


async def test_client_asks_for_the_fewest_intents(rig: Rig) -> None:
    intents = rig.client.intents
    assert intents.guilds and intents.guild_messages and intents.message_content
    assert not intents.members and not intents.presences and not intents.dm_messages


async def test_link_with_a_good_key_lists_the_licences(rig: Rig) -> None:
    text = await link(rig, ALICE, "Alice@Example.com", "SEO-ALICE")
    assert "linked to alice@example.com" in text and "SEO Suite" in text
    identity = rig.store.state.identities[("discord", ALICE["id"])]
    assert identity.display_name == "Alice"
    followup = rig.fake.find("POST", rf"/webhooks/{p.APP_ID}/.*")[-1]
    assert followup.body["flags"] & EPHEMERAL


async def test_link_modals_get_their_own_custom_ids(rig: Rig) -> None:
    first = (await rig.fake.interact(p.slash("support", "link", ALICE)))[0].body["data"]
    second = (await rig.fake.interact(p.slash("support", "link", CAROL)))[0].body["data"]
    assert first["custom_id"] != second["custom_id"]
    assert all(len(row["components"][0]["label"]) <= 45 for row in first["components"])


async def test_link_with_a_wrong_key_then_throttled(rig: Rig) -> None:
    text = await link(rig, ALICE, "alice@example.com", "SEO-CAROL")
    assert "does not match" in text and "4 attempts left" in text
    for _ in range(4):
        await link(rig, ALICE, "alice@example.com", "NOPE")
    text = await link(rig, ALICE, "alice@example.com", "SEO-ALICE")
    assert text.startswith("Too many wrong attempts")
    assert ("discord", ALICE["id"]) not in rig.store.state.identities


async def test_french_interaction_is_answered_in_french(rig: Rig) -> None:
    command = p.slash("support", "link", ALICE, "fr")
    modal = (await rig.fake.interact(command))[0].body["data"]
    assert modal["title"] == "Associer votre achat"
    submit = p.modal_submit(modal, ["alice@example.com", "WRONG"], ALICE, "fr")
    await rig.fake.interact(submit)
    assert (await rig.fake.reply_text(submit)).startswith("Cette clé de licence ne correspond pas")


async def test_product_autocomplete_offers_the_customers_licensed_products(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    [callback] = await rig.fake.interact(p.autocomplete(ALICE, ""))
    choices = callback.body["data"]["choices"]
    assert callback.body["type"] == 8
    assert {(c["name"], c["value"]) for c in choices} == {("SEO Suite", "seo-suite"),
                                                         ("One Step Checkout", "one-step-checkout")}
    [callback] = await rig.fake.interact(p.autocomplete(ALICE, "chec"))
    assert [c["value"] for c in callback.body["data"]["choices"]] == ["one-step-checkout"]
    [callback] = await rig.fake.interact(p.autocomplete(CAROL, ""))  # not linked: nothing to offer
    assert callback.body["data"]["choices"] == []


async def test_product_autocomplete_offers_the_catalogue_when_the_licence_source_fails(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")

    async def unavailable(email: str) -> list[object]:
        raise LicenceUnavailable("licence server down")

    monkeypatch.setattr(rig.desk.licences, "for_email", unavailable)
    [callback] = await rig.fake.interact(p.autocomplete(ALICE, "s"))
    names = {c["name"] for c in callback.body["data"]["choices"]}
    assert "SEO Suite" in names  # the core checks the licence when the form is sent

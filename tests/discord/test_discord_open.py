"""/ticket open: every refusal, the manual suggestions and their buttons, the private thread."""

from __future__ import annotations

from bot.tickets.opening import open_ticket as core_open
from tests.core_helpers import form
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, CAROL, EPHEMERAL, FORM, customer, link_core, open_command, open_ticket


async def test_refused_before_the_form_when_not_linked_or_versions_are_wrong(rig: Rig) -> None:
    _, callback = await open_command(rig, ALICE)
    assert callback["type"] == 4 and callback["data"]["flags"] & EPHEMERAL
    assert callback["data"]["content"].startswith("Please link your purchase first")
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    _, callback = await open_command(rig, ALICE, magento="2.3")
    assert callback["data"]["content"] == "'2.3' is not a Magento version: use the form 2.4.6 or 2.4.6-p3."
    _, callback = await open_command(rig, ALICE, module="latest")
    assert callback["data"]["content"].startswith("'latest' is not a module version")


async def test_refused_after_the_form_for_licence_reasons(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await link_core(rig, CAROL, "carol@example.com", "SEO-CAROL")
    _, text = await open_ticket(rig, ALICE, "one-step-checkout")
    assert text.startswith("Your One Step Checkout licence expired on 2026-")
    _, text = await open_ticket(rig, CAROL, "one-step-checkout")
    assert text.startswith("No licence for 'one-step-checkout' is linked to your account")
    assert rig.store.state.tickets == {}


async def test_refused_for_a_duplicate_subject_and_too_many_open(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    _, text = await open_ticket(rig, ALICE)
    assert text.startswith("Ticket #") and "is open" in text
    _, text = await open_ticket(rig, ALICE, subject="The checkout button does nothing!")
    assert text.startswith("You already have ticket #")
    for subject in ("Cart totals wrong", "Admin grid slow", "Email template broken", "Cron jobs stuck"):
        await core_open(rig.desk, form(customer(ALICE), subject=subject))
    _, text = await open_ticket(rig, ALICE, subject="Product images missing")
    assert text.startswith("You already have 5 open tickets")


async def test_a_long_field_is_refused_with_its_name(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    _, text = await open_ticket(rig, ALICE, changes="x" * 2001)
    assert text.startswith("The recent changes is too long")


async def manual_suggested(rig: Rig) -> tuple[dict, dict]:  # type: ignore[type-arg]
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    submit, text = await open_ticket(rig, ALICE, subject="Sitemap xml is empty")
    assert text.startswith("These pages of the manual may answer your question:")
    assert "https://docs.example.com/seo/sitemap" in text
    followup = rig.fake.find("POST", rf"/webhooks/{p.APP_ID}/{submit['token']}")[-1]
    message = rig.fake.messages[max(rig.fake.messages)]
    assert message["content"] == text and followup.body["flags"] & EPHEMERAL
    return submit, message


def button(message: dict, label: str) -> str:  # type: ignore[type-arg]
    [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"] if b["label"] == label]
    return custom_id


async def test_suggestion_answers_the_question_and_nothing_is_created(rig: Rig) -> None:
    _, message = await manual_suggested(rig)
    press = p.button_press(button(message, "This answers my question"), message, ALICE)
    [callback] = await rig.fake.interact(press)
    assert callback.body["type"] == 7 and callback.body["data"]["components"] == []
    assert callback.body["data"]["content"].startswith("Glad the manual helped!")
    assert rig.store.state.tickets == {}


async def test_suggestion_open_anyway_opens_the_ticket(rig: Rig) -> None:
    _, message = await manual_suggested(rig)
    press = p.button_press(button(message, "Open the ticket anyway"), message, ALICE)
    await rig.fake.interact(press)
    text = await rig.fake.reply_text(press)
    [ticket] = rig.store.state.tickets.values()
    assert text.startswith(f"Ticket #{ticket.number} is open") and "Sitemap xml is empty" in text
    [edit] = rig.fake.find("PATCH", rf"/webhooks/{p.APP_ID}/{press['token']}/messages/@original")
    assert edit.body["components"] == []
    assert [t.subject for t in rig.store.state.tickets.values()] == ["Sitemap xml is empty"]


async def test_open_accepted_creates_a_private_thread_with_the_customer_and_summary(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    _, text = await open_ticket(rig, ALICE, locale="fr")
    [ticket] = rig.store.state.tickets.values()
    assert ticket.locale == "fr" and text.startswith(f"Le ticket #{ticket.number}")
    await rig.dispatcher.run_once()
    [created] = rig.fake.find("POST", rf"/channels/{p.SUPPORT_ID}/threads")
    assert created.body["type"] == 12 and created.body["invitable"] is False
    assert created.body["name"] == f"#{ticket.number} Checkout button does nothing"
    thread_id = int(rig.store.state.tickets[ticket.number].customer_thread_ref or 0)
    assert rig.fake.thread_members[thread_id] == {p.BOT_ID, int(ALICE["id"])}
    [summary] = rig.fake.posts_in(thread_id)
    assert summary.body["content"].startswith(f"<@{ALICE['id']}> Ticket #{ticket.number}")
    assert summary.body["allowed_mentions"]["users"] == [int(ALICE["id"])]
    assert summary.body["allowed_mentions"]["parse"] == []
    [close] = summary.body["components"][0]["components"]
    assert close["custom_id"] == f"ticket:close:{ticket.number}" and close["label"] == "Fermer le ticket"
    assert rig.staff.actions() == ["card"]


async def test_the_thread_name_is_cut_at_100_characters(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE, subject="Checkout " + "x" * 91)
    await rig.dispatcher.run_once()
    [created] = rig.fake.find("POST", rf"/channels/{p.SUPPORT_ID}/threads")
    assert len(created.body["name"]) == 100


async def test_a_product_typed_instead_of_chosen_is_resolved_or_refused_before_the_form(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    _, callback = await open_command(rig, ALICE, product="checkout")
    assert callback["type"] == 4 and callback["data"]["flags"] & EPHEMERAL
    assert callback["data"]["content"].startswith("'checkout' is not one of our extensions")
    command, callback = await open_command(rig, ALICE, product="seo suite")  # the name, not the sku
    assert callback["type"] == 9
    submit = p.modal_submit(callback["data"], list(FORM.values()), ALICE)
    await rig.fake.interact(submit)
    await rig.fake.reply_text(submit)
    assert [t.product for t in rig.store.state.tickets.values()] == ["seo-suite"]


async def test_a_suggestion_button_pressed_again_or_after_expiry_gets_a_sentence(rig: Rig) -> None:
    _, message = await manual_suggested(rig)
    anyway = button(message, "Open the ticket anyway")
    first = p.button_press(anyway, message, ALICE)
    await rig.fake.interact(first)
    await rig.fake.reply_text(first)
    again = p.button_press(anyway, message, ALICE)  # a double click, or the view is gone (timeout, restart)
    [callback] = await rig.fake.interact(again)
    assert callback.body["data"]["flags"] & EPHEMERAL
    assert callback.body["data"]["content"].startswith("This button or form has expired")
    assert len(rig.store.state.tickets) == 1


async def test_a_form_submitted_after_a_restart_gets_a_sentence(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    _, callback = await open_command(rig, ALICE)
    stale = {**callback["data"], "custom_id": "a-modal-this-process-never-sent"}
    submit = p.modal_submit(stale, list(FORM.values()), ALICE, "fr")
    [answer] = await rig.fake.interact(submit)
    assert answer.body["data"]["content"].startswith("Ce bouton ou ce formulaire a expiré")
    assert rig.store.state.tickets == {}

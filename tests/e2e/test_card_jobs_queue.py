"""The card jobs through the work queue on the local stack: the job only finds the cards whose last day has
passed and puts one message each on the queue; the work consumers expire each card once, though the job ran twice
and four consumers took the messages at once."""

from __future__ import annotations

from datetime import datetime

from functions import card_jobs
from functions.dev_stack import DevStack
from tests.e2e.api_client import ApiClient
from tests.e2e.test_existing_card_holders import office

PLATES = [f"粤K{n:05d}" for n in range(20)]


def test_twenty_ended_cards_found_twice_are_each_expired_once_by_four_consumers(stack: DevStack) -> None:
    api = ApiClient(stack.api_url)
    staff = office(api)
    rows = {"first_row": 2, "rows": [{"车牌": p, "有效期至": "2026/12/31"} for p in PLATES]}
    assert api.post("/admin/api/v1/lots/demo-lot/imports/rows", json=rows, headers=staff).json()["created"] == 20
    cards = [stack.services.cards.card_for_plate("demo-lot", p) for p in PLATES]
    ids = {c.id for c in cards if c is not None}
    assert len(ids) == 20

    stack.clock.set(datetime.fromisoformat("2027-01-01T00:30:00+08:00"))  # their last day is over in Beijing
    found = [card_jobs.run(stack.services), card_jobs.run(stack.services)]  # a second run before any consumer
    assert found[0] == found[1] >= 20
    done = stack.work(consumers=4)

    expired = {k.removeprefix("card-expire#") for k in done.worked if k.startswith("card-expire#")}
    assert ids <= expired and not done.failed
    assert done.duplicates >= 20  # each second message found its card expired already
    for card_id in ids:
        card = stack.services.cards.get(card_id)
        assert card is not None and card.state.value == "expired"
        assert [e.action for e in stack.services.card_queries.history(card_id)].count("expire") == 1
    assert card_jobs.run(stack.services) == 0  # an expired card leaves the running index: nothing found again

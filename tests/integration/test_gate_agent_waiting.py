"""A gate agent whose sync waits on the network keeps deciding at the barrier."""

from __future__ import annotations

import os
import socket
import threading
from datetime import date
from pathlib import Path

from domain.gate import Grant, Reason
from infra.gate_agent.agent import GateAgent, GateConfig
from infra.gate_agent.store import WhitelistStore
from infra.gate_messages import MessageSigner


def test_a_check_at_the_barrier_does_not_wait_for_a_sync_that_hangs(tmp_path: Path) -> None:
    db = tmp_path / "gate.sqlite"
    store = WhitelistStore(db, "demo-lot")
    store.save(Grant("demo-lot", 1, "粤B12345", "card-demo", date(2026, 12, 1), date(2026, 12, 31), "active"))
    store.close()
    hanging = socket.create_server(("127.0.0.1", 0))  # accepts and never answers
    accepted = threading.Event()
    held: list[socket.socket] = []  # the connection stays open, unanswered

    def accept() -> None:
        held.append(hanging.accept()[0])
        accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    signer = MessageSigner(os.urandom(32))
    config = GateConfig(
        "demo-lot", "demo-gate", "secret", f"http://127.0.0.1:{hanging.getsockname()[1]}", "mqtt://127.0.0.1:9",
        signer.public_key(), db,
    )  # fmt: skip
    agent = GateAgent(config)
    syncing = threading.Thread(target=agent.sync, daemon=True)
    syncing.start()
    try:
        assert accepted.wait(5), "the sync never asked"
        assert agent.check("粤B12345", date(2026, 12, 2)).allow
        assert agent.check("粤A00000", date(2026, 12, 2)).reason is Reason.UNKNOWN
        assert syncing.is_alive()  # decided while the sync still waits for its answer
    finally:
        for connection in held:
            connection.close()
        hanging.close()
        syncing.join(15)
        agent.stop()

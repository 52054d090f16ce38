"""Faults injected into a real server process while clients keep calling it: every request is
counted (benchmarks.reliability.traffic), and none may be lost."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.processes import ServerProcess
from benchmarks.reliability.traffic import Traffic, receive_response, tally
from benchmarks.reliability.trickle import Trickle
from tests.reliability.conftest import Record, profiles
from tests.reliability.payloads import batch_request, single_requests

QUIET = {"IDS_LOG_LEVEL": "warning"}


@pytest.mark.parametrize(
    ("load_s", "workers"),
    [
        *profiles((1.0, 1), (10.0, 1)),
        pytest.param(10.0, 2, id="full-two workers", marks=pytest.mark.reliability_full),
    ],
)
def test_sigterm_under_load_answers_every_request_sent_before_it(
    start: Callable[..., ServerProcess],
    repository: Path,
    record: Record,
    load_s: float,
    workers: int,
) -> None:
    server = start({"ARTIFACTS_PATH": str(repository), "IDS_WORKERS": str(workers), **QUIET})
    # Batches keep requests in flight at the moment the signal lands; singles keep it busy.
    requests = [*single_requests(8), batch_request(500)]
    traffic = Traffic(server.port, requests, connections=32).start()
    time.sleep(load_s)
    signalled = server.signal(signal.SIGTERM)
    exit_code = server.wait_exit(60)
    outcomes = traffic.stop()

    before = [o for o in outcomes if o.sent is not None and o.sent < signalled]
    in_flight = [o for o in before if o.finished is None or o.finished >= signalled]
    counted = tally(before)
    after = tally([o for o in outcomes if o.sent is None or o.sent >= signalled])
    record(
        "sigterm",
        load_s=load_s,
        workers=workers,
        sent_before=counted.sent,
        in_flight_at_signal=len(in_flight),
        answered=counted.answered,
        lost=counted.lost,
        non_2xx=counted.non_2xx,
        sent_after=after.sent,
        exit_code=exit_code,
    )
    assert exit_code == 0, server.output()
    assert in_flight, "no request was in flight when the signal landed: the test proves nothing"
    assert counted.lost == 0, counted
    assert counted.statuses == {200: counted.sent}, counted


@pytest.mark.parametrize("trickle_s", profiles(5.0, 30.0))
def test_slow_clients_do_not_stall_other_requests(
    start: Callable[..., ServerProcess], repository: Path, record: Record, trickle_s: float
) -> None:
    server = start({"ARTIFACTS_PATH": str(repository), **QUIET})
    requests = single_requests(8)
    alone = Traffic(server.port, requests, connections=4, timeout_s=10).start()
    time.sleep(trickle_s / 2)
    calm = tally(alone.stop())

    slow = Trickle(server.port, single_requests(1)[0], sockets=50, interval_s=1.0).start()
    time.sleep(1.0)  # every slow socket is connected and has begun
    others = Traffic(server.port, requests, connections=4, timeout_s=10).start()
    time.sleep(trickle_s)
    during = tally(others.stop())
    trickled = slow.summary()
    slow.stop()
    record(
        "slow_clients",
        trickle_s=trickle_s,
        **trickled,
        **during.figures("others_"),
        **calm.figures("calm_"),
    )
    assert trickled["connected"] == 50
    assert during.sent > 0
    assert during.lost == 0, during
    assert during.statuses == {200: during.sent}, during


def test_an_idle_connection_at_sigterm_still_answers_the_request_on_its_way(
    start: Callable[..., ServerProcess], repository: Path
) -> None:
    """The deterministic form of the race above: a keep-alive connection idle when shutdown
    begins, and a request the client sends on it just after. It is answered (with
    `Connection: close`) instead of being reset."""
    server = start({"ARTIFACTS_PATH": str(repository), **QUIET})
    request = single_requests(1)[0].encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request)
        assert receive_response(connection)[0] == 200
        server.signal(signal.SIGTERM)
        time.sleep(0.3)  # uvicorn notices the signal within 0.1 s and begins its shutdown
        connection.sendall(request)
        status, _, _ = receive_response(connection)
        closed = connection.recv(1) == b""  # and then the server closes it
    assert status == 200
    assert closed
    assert server.wait_exit(30) == 0

"""The load generator of ``bench_load.py --mixed``: residents of the demo subdistrict, each with a bearer
token and a need of their own, sending requests at Poisson times (``rate`` a second each, independently,
as people do, not in step), over one kept-alive connection each, doing

- 70% reads: their needs, one need, the grid map (a page of 20), their notifications;
- 20% submissions: a need in their words in a grid (the classifier runs, as for a resident);
- 10% transitions: cancelling their own need, or reopening it once cancelled.

Why not locust: on the two cores the server also runs on, locust's own scheduling adds tens of
milliseconds to the slowest answers it reports (``/healthz``, which the server answers in about 1 ms, came
back with p99 47-84 ms from locust at 200 requests/s, 4 ms from this generator; ``bench_load.py --mixed
--calibrate`` measures both again). Measuring a p99 of 50 ms needs a generator whose own p99 is a few ms:
here each user is a thread that mostly sleeps, and the users are spread over processes so that no one
interpreter's lock delays the reading of an answer.

Each answer is kept as (operation, due, sent, answered, status): latency is sent to answered; ``late`` (due
to sent) shows whether the generator, or a user still waiting for its previous answer, fell behind.
"""
from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

HOST = "127.0.0.1"
OPERATIONS = (("GET /needs", 25), ("GET /needs/<id>", 20), ("GET /grids", 15), ("GET /notifications", 10),
              ("POST /needs", 20), ("POST /needs/<id>/actions", 10))
NEED_TEXTS = ("家里水管漏水，想找人来修", "我妈周三上午要去医院复查，想找人陪一下", "楼道灯坏了好几天了",
              "孩子放学后没人辅导作业", "想咨询一下医保报销怎么办", "邻居装修太吵，想请人调解",
              "老人一个人住，希望有人定期来看看", "手机不会用健康码，想找人教一下")
GRIDS = [f"G{i:03d}" for i in range(1, 159)]
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Answer:
    operation: str
    due: float  # time.time() seconds
    sent: float
    answered: float
    status: int  # 0: no answer (connection refused, reset, timed out)

    @property
    def latency_ms(self) -> float:
        return (self.answered - self.sent) * 1000

    @property
    def late_ms(self) -> float:
        return (self.sent - self.due) * 1000

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Run:
    start: float  # time.time() seconds: the window the requests were due in
    end: float
    answers: list[Answer]

    @property
    def served_per_s(self) -> float:
        """Answers received within the window, a second: a server that falls behind answers the
        rest after it (each user waits for its previous answer, then sends what is overdue)."""
        return sum(a.answered <= self.end for a in self.answers) / (self.end - self.start)


class Resident:
    """One user: a token, a need of their own, a connection, and what they last saw of the need."""

    def __init__(self, entry: dict[str, Any], port: int, rng: random.Random) -> None:
        self.token, self.need_id, self.status = entry["token"], int(entry["need_id"]), str(entry["status"])
        self.port, self.rng = port, rng
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: once more, on a new one
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT_S)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def act(self, operation: str) -> int:
        if operation == "GET /healthz":
            return self.request("GET", "/healthz")[0]
        if operation == "GET /needs":
            return self.request("GET", "/api/v1/needs?per_page=20")[0]
        if operation == "GET /needs/<id>":
            return self.request("GET", f"/api/v1/needs/{self.need_id}")[0]
        if operation == "GET /grids":
            return self.request("GET", "/api/v1/grids?per_page=20")[0]
        if operation == "GET /notifications":
            return self.request("GET", "/api/v1/notifications?per_page=20")[0]
        if operation == "POST /needs":
            return self.request("POST", "/api/v1/needs", {"text": self.rng.choice(NEED_TEXTS),
                                                          "grid": self.rng.choice(GRIDS)})[0]
        action = "reopen" if self.status == "cancelled" else "cancel"
        status, body = self.request("POST", f"/api/v1/needs/{self.need_id}/actions",
                                    {"action": action, "reason": "压测"})
        if status == 200:
            self.status = str(json.loads(body)["status"])
        return status

    def learn_status(self) -> None:
        """The need as it is now (an earlier run may have cancelled it)."""
        status, body = self.request("GET", f"/api/v1/needs/{self.need_id}")
        if status == 200:
            self.status = str(json.loads(body)["status"])


def _run_user(resident: Resident, rate: float, start: float, end: float, out: list[Answer],
              operations: Sequence[tuple[str, int]]) -> None:
    names = [name for name, _ in operations]
    weights = [weight for _, weight in operations]
    due = start + resident.rng.expovariate(rate)
    while due < end:
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        operation = resident.rng.choices(names, weights)[0]
        sent = time.time()
        try:
            status = resident.act(operation)
        except (OSError, http.client.HTTPException):
            status = 0
        out.append(Answer(operation, due, sent, time.time(), status))
        due += resident.rng.expovariate(rate)


def _run_process(entries: Sequence[dict[str, Any]], port: int, rate: float, start: float, seconds: float,
                 seed: int, operations: Sequence[tuple[str, int]]) -> list[Answer]:
    try:
        # Ahead of the server for the CPU: the generator stands in for clients on other machines, whose
        # clocks do not wait for the server's processes (root may raise priority; others keep theirs).
        os.nice(-10)
    except OSError:
        pass
    residents = [Resident(entry, port, random.Random(seed * 100_003 + i)) for i, entry in enumerate(entries)]
    for resident in residents:
        resident.learn_status()
    out: list[Answer] = []  # list.append is atomic under the GIL
    threads = [threading.Thread(target=_run_user, args=(r, rate, start, start + seconds, out, operations), daemon=True)
               for r in residents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + TIMEOUT_S + 10)
    for resident in residents:
        if resident.conn is not None:
            resident.conn.close()
    return out


def run(port: int, entries: Sequence[dict[str, Any]], users: int, rate_per_user: float, seconds: float,
        processes: int = 2, seed: int = 2026, operations: Sequence[tuple[str, int]] = OPERATIONS) -> Run:
    """``users`` residents (taken from ``entries`` in turn; keep ``users`` ≤ ``len(entries)`` so that no two
    move one need) at ``rate_per_user`` requests a second each for ``seconds``, doing ``operations`` (name,
    weight); every answer, and the window they were due in."""
    chosen = [entries[i % len(entries)] for i in range(users)]
    chunks = [chosen[p::processes] for p in range(processes) if chosen[p::processes]]
    start = time.time() + 1.0 + 0.02 * users  # every process has its threads up before the first is due
    with ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_run_process, chunk, port, rate_per_user, start, seconds, seed + p, operations)
                   for p, chunk in enumerate(chunks)]
        return Run(start, start + seconds, [answer for future in futures for answer in future.result()])


"""The mixed load of ``bench_load.py --mixed``, for locust (run headless by that script, never alone):
residents of the demo subdistrict, each with a bearer token and a need of their own, at a fixed
rate each (``constant_throughput``), doing

- 70% reads: their needs, one need, the grid map (a page of 20), their notifications;
- 20% submissions: a need in their words in a grid (the classifier runs, as for a resident);
- 10% transitions: cancelling their own need, or reopening it once cancelled.

The script passes one entry per user (a JSON file: [{"token", "need_id", "status"}], a need of the
user's own, so no two users move one need) and the rate per user in the environment
(SANKU_BENCH_USERS, SANKU_BENCH_RATE_PER_USER).
"""
from __future__ import annotations

import itertools
import json
import os
import random
from typing import Any

from locust import HttpUser, constant_throughput, task

ACCOUNTS: list[dict[str, Any]] = json.loads(open(os.environ["SANKU_BENCH_USERS"], encoding="utf-8").read())
RATE_PER_USER = float(os.environ.get("SANKU_BENCH_RATE_PER_USER", "1"))
_next_account = itertools.cycle(range(len(ACCOUNTS)))
NEED_TEXTS = ("家里水管漏水，想找人来修", "我妈周三上午要去医院复查，想找人陪一下", "楼道灯坏了好几天了",
              "孩子放学后没人辅导作业", "想咨询一下医保报销怎么办", "邻居装修太吵，想请人调解",
              "老人一个人住，希望有人定期来看看", "手机不会用健康码，想找人教一下")
GRIDS = [f"G{i:03d}" for i in range(1, 159)]


class Resident(HttpUser):
    wait_time = constant_throughput(RATE_PER_USER)

    def on_start(self) -> None:
        account = ACCOUNTS[next(_next_account)]
        self.client.headers["Authorization"] = f"Bearer {account['token']}"
        self.need_id = int(account["need_id"])
        # The file holds each need as it was first submitted; an earlier step may have cancelled it.
        response = self.client.get(f"/api/v1/needs/{self.need_id}", name="GET /needs/<id>")
        self.status = str(response.json()["status"]) if response.status_code == 200 else str(account["status"])

    # --- 70% reads ---
    @task(25)
    def my_needs(self) -> None:
        self.client.get("/api/v1/needs?per_page=20", name="GET /needs")

    @task(20)
    def one_need(self) -> None:
        self.client.get(f"/api/v1/needs/{self.need_id}", name="GET /needs/<id>")

    @task(15)
    def grid_map(self) -> None:
        self.client.get("/api/v1/grids?per_page=20", name="GET /grids")

    @task(10)
    def notifications(self) -> None:
        self.client.get("/api/v1/notifications?per_page=20", name="GET /notifications")

    # --- 20% submissions ---
    @task(20)
    def submit(self) -> None:
        self.client.post("/api/v1/needs", json={"text": random.choice(NEED_TEXTS), "grid": random.choice(GRIDS)},
                         name="POST /needs")

    # --- 10% transitions ---
    @task(10)
    def cancel_or_reopen(self) -> None:
        action = "reopen" if self.status == "cancelled" else "cancel"
        with self.client.post(f"/api/v1/needs/{self.need_id}/actions", json={"action": action, "reason": "压测"},
                              name="POST /needs/<id>/actions", catch_response=True) as response:
            if response.status_code == 200:
                self.status = response.json()["status"]
                response.success()
            else:
                response.failure(f"{response.status_code} {response.text[:120]}")

"""The load bench's users (run by ``bench/load.py``; see bench/README.md, "Load").

``VIHUB_LOAD_PERSONAS`` names a JSON file written by the bench: ``{"run": prefix, "tokens":
{persona: bearer token}}``. Requests are named by endpoint template (``name=``), so task and
referral ids never split the statistics (locust's ``FastHttpUser``). Every request carries
``X-Forwarded-Proto: https``, as it would arrive from the TLS-terminating proxy in front of
production (which redirects plain HTTP).

Mixed workload (``Agency Officer Coordinator Auditor``, weights 3:4:2:1): agencies post
referrals and poll their own; Kent and Essex officers list and read their tasks and record
leads; coordinators watch the board (the task list, offered and overdue) and the triage queue
(received referrals) and triage some; auditors search the trail. Pure intake (``IntakeAgency``):
agencies posting referrals back to back with unique ``external_id``s; every 201 is written to
``VIHUB_LOAD_INTAKE_LOG`` at the end so the bench can check each is in the database and the
trail.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, constant, events, task

_personas_path = os.environ.get("VIHUB_LOAD_PERSONAS", "")
PERSONAS: dict[str, Any] = json.loads(Path(_personas_path).read_text()) if _personas_path else {}
RUN: str = PERSONAS.get("run", "load")
TOKENS: dict[str, str] = PERSONAS.get("tokens", {})
AGENCIES = ("ncmec", "iwf", "interpol")
FORCES = ("KENT", "ESSEX", "MPS", "GMP", "WMP", "SUSSEX", "HERTS")
# Think times are scaled by this (the bench's --quick sets 0.2 so a few seconds reach every endpoint).
THINK = float(os.environ.get("VIHUB_LOAD_THINK_SCALE", "1"))
LEAD_KINDS = ("online_account", "ip_address", "device", "image_analysis", "location", "platform_request")

# Pure intake: what each 201 said, and every status seen (one locust process, one list).
INTAKE_CREATED: list[tuple[str, str]] = []
INTAKE_STATUSES: Counter[int] = Counter()


def _external_id(kind: str) -> str:
    return f"{RUN}-{kind}-{uuid.uuid4().hex}"


class _ApiUser(FastHttpUser):
    """geventhttpclient, not requests: the load generator shares the cores it measures, and
    requests' client cost about as much CPU per request as the service's PostgreSQL."""

    abstract = True
    persona = ""
    default_headers = {"X-Forwarded-Proto": "https"}

    def on_start(self) -> None:
        self.client.auth_header = f"Bearer {TOKENS[self.persona]}"

    def results(self, path: str, name: str) -> list[dict[str, Any]]:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return []
            body = response.json()
            return list(body["results"] if isinstance(body, dict) else body)


def _referral_body(external_id: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "summary": "Suspected indecent images uploaded from a UK address (load bench)",
        "suspect_force": random.choice(FORCES),
        "urgent": random.random() < 0.03,
        "media": [{"sha256": uuid.uuid4().hex + uuid.uuid4().hex}],
    }


class Agency(_ApiUser):
    """An agency's integration: posts referrals, polls their status, looks one up."""

    weight = 3
    wait_time = between(1 * THINK, 3 * THINK)

    def on_start(self) -> None:
        self.persona = random.choice(AGENCIES)
        super().on_start()
        self.posted: list[str] = []

    @task(5)
    def post_referral(self) -> None:
        external_id = _external_id("mixed")
        response = self.client.post(
            "/api/v1/referrals/", json=_referral_body(external_id), name="POST /referrals/"
        )
        if response.status_code == 201:
            self.posted = [*self.posted[-49:], external_id]

    @task(2)
    def poll_status(self) -> None:
        since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.results(f"/api/v1/referrals/?updated_since={since}", "GET /referrals/?updated_since (agency)")

    @task(1)
    def look_up(self) -> None:
        if self.posted:
            self.results(f"/api/v1/referrals/?q={random.choice(self.posted)}", "GET /referrals/?q (agency)")


class Officer(_ApiUser):
    """A Kent or Essex officer: the task list, a task, its leads, a new lead."""

    weight = 4
    wait_time = between(2 * THINK, 6 * THINK)

    def on_start(self) -> None:
        self.persona = random.choice(("kent_officer", "essex_officer"))
        super().on_start()
        self.task_ids = [
            t["id"] for t in self.results("/api/v1/tasks/?status=accepted", "GET /tasks/?status")
        ]

    @task(4)
    def list_tasks(self) -> None:
        rows = self.results("/api/v1/tasks/", "GET /tasks/")
        if not self.task_ids:
            self.task_ids = [t["id"] for t in rows if t.get("status") == "accepted"]

    @task(4)
    def read_task(self) -> None:
        if self.task_ids:
            self.client.get(f"/api/v1/tasks/{random.choice(self.task_ids)}/", name="GET /tasks/{id}/")

    @task(1)
    def read_leads(self) -> None:
        if self.task_ids:
            self.client.get(
                f"/api/v1/tasks/{random.choice(self.task_ids)}/leads/", name="GET /tasks/{id}/leads/"
            )

    @task(1)
    def record_lead(self) -> None:
        if self.task_ids:
            self.client.post(
                f"/api/v1/tasks/{random.choice(self.task_ids)}/leads/",
                json={
                    "kind": random.choice(LEAD_KINDS),
                    "description": "Subscriber check requested (load bench)",
                },
                name="POST /tasks/{id}/leads/",
            )


class Coordinator(_ApiUser):
    """A hub coordinator: the board (tasks offered and overdue), the triage queue, a triage."""

    weight = 2
    wait_time = between(2 * THINK, 5 * THINK)
    persona = "coordinator"

    def on_start(self) -> None:
        super().on_start()
        self.queue: list[str] = []

    @task(3)
    def board(self) -> None:
        self.results(
            random.choice(("/api/v1/tasks/?status=offered", "/api/v1/tasks/?overdue=true")),
            "GET /tasks/?board",
        )

    @task(3)
    def triage_queue(self) -> None:
        rows = self.results("/api/v1/referrals/?status=received", "GET /referrals/?status=received (triage)")
        self.queue = [r["id"] for r in rows]

    @task(1)
    def triage(self) -> None:
        if not self.queue:
            return
        referral = self.queue.pop(random.randrange(len(self.queue)))
        self.client.post(
            f"/api/v1/referrals/{referral}/triage/",
            json={
                "grade": random.choice((1, 2, 2, 3, 3, 3)),
                "risk": random.choice(("high", "medium", "low")),
                "access_to_children": random.choice(([], ["family"], ["work", "leisure"])),
                "information_incomplete": False,
                "rationale": "Graded on the agency's report (load bench)",
            },
            name="POST /referrals/{id}/triage/",
        )


class Auditor(_ApiUser):
    """An auditor searching the trail by action, by time and by object."""

    weight = 1
    wait_time = between(3 * THINK, 8 * THINK)
    persona = "auditor"

    def on_start(self) -> None:
        super().on_start()
        self.objects: list[str] = []

    @task(2)
    def by_action(self) -> None:
        action = random.choice(("referral.received", "referral.triaged", "lead.created", "task.viewed"))
        rows = self.results(f"/api/v1/audit/events/?action={action}", "GET /audit/events/?action")
        self.objects = [r["object_id"] for r in rows if r.get("object_id")][:20] or self.objects

    @task(1)
    def since(self) -> None:
        since = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.results(f"/api/v1/audit/events/?since={since}", "GET /audit/events/?since")

    @task(1)
    def by_object(self) -> None:
        if self.objects:
            self.results(
                f"/api/v1/audit/events/?object_id={random.choice(self.objects)}",
                "GET /audit/events/?object_id",
            )


class _BackToBackAgency(_ApiUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        self.persona = random.choice(AGENCIES)
        super().on_start()


class IntakeAgency(_BackToBackAgency):
    """Pure intake: one agency integration posting referrals back to back."""

    @task
    def post_referral(self) -> None:
        external_id = _external_id("intake")
        with self.client.post(
            "/api/v1/referrals/",
            json=_referral_body(external_id),
            name="POST /referrals/ (intake)",
            catch_response=True,
        ) as response:
            INTAKE_STATUSES[response.status_code] += 1
            if response.status_code == 201:
                INTAKE_CREATED.append((str(response.json()["id"]), external_id))
            else:
                response.failure(f"HTTP {response.status_code}")


class TaskReader(_ApiUser):
    """The officer's task read alone, back to back (its CPU per request, measured by itself)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.persona = random.choice(("kent_officer", "essex_officer"))
        super().on_start()
        self.task_ids = [t["id"] for t in self.results("/api/v1/tasks/", "GET /tasks/ (task read setup)")]

    @task
    def read_task(self) -> None:
        if self.task_ids:
            self.client.get(
                f"/api/v1/tasks/{random.choice(self.task_ids)}/", name="GET /tasks/{id}/ (task read)"
            )


# Resilient intake: every referral retried with its same external_id until acknowledged.
RESILIENT_DONE: list[tuple[str, str, int, int]] = []  # (id, external_id, status, attempts)
RESILIENT_GAVE_UP: list[str] = []
RESILIENT_STATUSES: Counter[int] = Counter()


class ResilientIntakeAgency(_BackToBackAgency):
    """An agency integration as a careful client writes it: a referral that gets no answer, an
    error or a refusal is posted again, with the same ``external_id``, until it is acknowledged
    (201 created, or 200: already received). The bench disrupts the service meanwhile."""

    network_timeout = 30.0  # a request with no answer in 30 s is posted again

    @task
    def post_referral(self) -> None:
        external_id = _external_id("resilient")
        body = _referral_body(external_id)
        for attempt in range(1, 61):
            with self.client.post(
                "/api/v1/referrals/", json=body, name="POST /referrals/ (resilient intake)",
                catch_response=True,
            ) as response:  # fmt: skip
                RESILIENT_STATUSES[response.status_code] += 1
                if response.status_code in (200, 201):
                    RESILIENT_DONE.append(
                        (str(response.json()["id"]), external_id, response.status_code, attempt)
                    )
                    return
                response.failure(f"HTTP {response.status_code}")
            time.sleep(min(0.05 * 2**attempt, 2.0))
        RESILIENT_GAVE_UP.append(external_id)


@events.test_stop.add_listener
def _write_intake_log(**_: Any) -> None:
    path = os.environ.get("VIHUB_LOAD_INTAKE_LOG")
    if path:
        document = {"created": INTAKE_CREATED, "statuses": {str(k): v for k, v in INTAKE_STATUSES.items()}}
        Path(path).write_text(json.dumps(document))
    path = os.environ.get("VIHUB_LOAD_RESILIENT_LOG")
    if path:
        document = {
            "done": RESILIENT_DONE,
            "gave_up": RESILIENT_GAVE_UP,
            "statuses": {str(k): v for k, v in RESILIENT_STATUSES.items()},
        }
        Path(path).write_text(json.dumps(document))

"""Schemathesis against the running API for every role (issue 14): generated requests for every
operation of the OpenAPI document, with that role's bearer token. No answer may be a server
error, and every documented answer must match its schema. The agency's intake also gets invalid
requests (each must get a clear 4xx): it is the door hostile input comes through.

A real HTTP server (pytest-django's live server) on PostgreSQL and Redis under `make test`;
Schemathesis runs as its own processes, one per role at once, as testers would. The seed is
fixed, so a failure reproduces; each report (with a curl line per failure) is in
test-artifacts/schemathesis-ROLE.txt."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from spokes.services import lead_create
from tests.conftest import Persona
from tests.e2e.conftest import ARTIFACTS
from tests.factories import acting, make_task

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.usefixtures("committed_db")]

ROLES = [
    "coordinator",
    "auditor",
    "kent_officer",
    "kent_supervisor",
    "ersou_coordinator",
    "ncmec",
    "administrator",
]
ST = Path(sys.executable).with_name("st")
COMMON = ["--checks", "not_a_server_error,response_schema_conformance", "--max-examples", "3",
          "--seed", "14", "--no-shrink", "--workers", "1", "--suppress-health-check", "all"]  # fmt: skip
# name: (role, extra arguments)
RUNS: dict[str, tuple[str, list[str]]] = {
    **{role: (role, ["--mode", "positive", "--phases", "examples,coverage,fuzzing"]) for role in ROLES},
    "ncmec-intake-invalid": ("ncmec", ["--mode", "negative", "--phases", "coverage,fuzzing",
                                       "--include-path", "/api/v1/referrals/", "--include-method", "POST"]),
}  # fmt: skip


def test_generated_requests_get_no_server_error_and_answers_that_match_the_schema(
    cast: dict[str, Persona], live_server: Any
) -> None:
    # Something to find: a Kent task with work on it (ids the fuzzer reaches through the lists).
    task = make_task(holder="KENT", accepted=True)
    lead_create(task=task, actor=acting("KENT"), kind="device", description="Seized phone")
    ARTIFACTS.mkdir(exist_ok=True)
    # The document once, from the server (drf-spectacular builds it per request, and building it
    # in several threads at once is not something it supports); the runs then all read the file.
    schema = ARTIFACTS / "openapi.json"
    asked = urllib.request.Request(  # noqa: S310  (the live server's own URL)
        f"{live_server.url}/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}
    )
    with urllib.request.urlopen(asked) as answer:  # noqa: S310
        schema.write_bytes(answer.read())
    running = {
        name: subprocess.Popen(  # noqa: S603  (our own venv's tool, fixed arguments)
            [
                str(ST),
                "run",
                f"{live_server.url}/api/v1/schema/",
                "-H",
                f"Authorization: Bearer {cast[role].token}",
                *COMMON,
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for name, (role, extra) in RUNS.items()
    }
    problems = []
    for name, process in running.items():
        output, _ = process.communicate(timeout=900)
        (ARTIFACTS / f"schemathesis-{name}.txt").write_text(output)
        if process.returncode != 0:
            summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
            problems.append(f"{name}: see test-artifacts/schemathesis-{name}.txt\n{summary[-2500:]}")
    assert problems == [], "\n\n".join(problems)

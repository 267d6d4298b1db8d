"""Schemathesis against the running API, once per role (issue 14): generated requests for
every operation of the OpenAPI document, valid and invalid, with that role's bearer token.
No answer may be a server error, and every documented answer must match its schema.

A real HTTP server (pytest-django's live server) on PostgreSQL and Redis under `make test`;
Schemathesis runs as its own process, as a tester's would. The seed is fixed, so a failure
reproduces; the report (with a curl line per failure) is in test-artifacts/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Persona
from tests.e2e.conftest import ARTIFACTS
from tests.factories import acting, make_task

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.usefixtures("committed_db")]

ROLES = ["coordinator", "auditor", "kent_officer", "kent_supervisor", "ersou_coordinator", "ncmec"]
ST = Path(sys.executable).with_name("st")
# Invalid requests too (each must get a clear 4xx) for the agency, whose system is outside ours
# and the likeliest to send hostile input; valid ones for every role (a run of "all" modes for
# each role takes about 3 minutes of this machine's CPU, "positive" about one).
MODES = {"ncmec": "all"}


@pytest.mark.parametrize("role", ROLES)
def test_generated_requests_get_no_server_error_and_answers_that_match_the_schema(
    role: str, cast: dict[str, Persona], live_server: Any
) -> None:
    # Something to find: a Kent task with work on it (ids the fuzzer can reach through lists).
    task = make_task(holder="KENT", accepted=True)
    from spokes.services import lead_create

    lead_create(task=task, actor=acting("KENT"), kind="device", description="Seized phone")
    report = ARTIFACTS / f"schemathesis-{role}.txt"
    ARTIFACTS.mkdir(exist_ok=True)
    run = subprocess.run(  # noqa: S603  (our own venv's tool, fixed arguments)
        [
            str(ST), "run", f"{live_server.url}/api/v1/schema/",
            "-H", f"Authorization: Bearer {cast[role].token}",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "3", "--mode", MODES.get(role, "positive"), "--seed", "14", "--no-shrink",
            "--workers", "1",
            "--suppress-health-check", "all",
        ],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report.write_text(run.stdout + run.stderr)
    summary = run.stdout[run.stdout.rfind("SUMMARY") :] if "SUMMARY" in run.stdout else run.stdout[-3000:]
    assert run.returncode == 0, f"{role}: see {report}\n{summary[-4000:]}"

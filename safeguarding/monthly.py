"""Monthly summaries per spoke (issue 16): the accountability the hub-and-spoke model rests on.

``monthly_summaries_produce(month)`` writes one ``MonthlySummary`` per region or force that held
work that month, from the same figures as the accountability report (safeguarding/reports.py):
arrests, children safeguarded, victims identified, outcomes by kind, tasks received, accepted and
completed, missed deadlines (escalations), tasks open at the month's end, and the oldest requests
to platforms and overseas still waiting then. The scheduled job (``monthly_summaries_job``, every
hour) produces last month's on the first of the month, or the first hour a worker runs after
it; it is idempotent: a unique (spoke, month) row means two beats, or a job re-run, produce each
summary once. Summaries are kept as produced; CSV and PDF are rendered from them on download.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from fpdf import FPDF

from hub.constants import AuditAction
from hub.models import Organisation
from hub.services.audit import audit_record
from safeguarding.models import MonthlySummary
from safeguarding.reports import Period, spoke_report
from safeguarding.trends import UK, _at, _next_month
from spokes.models import ExternalRequest

FIELDS = [
    ("tasks_received", "Tasks received"),
    ("tasks_accepted", "Tasks accepted"),
    ("tasks_completed", "Tasks with an outcome"),
    ("arrests", "Arrests"),
    ("children_safeguarded", "Children safeguarded"),
    ("victims_identified", "Victims identified"),
    ("escalations", "Missed deadlines (escalations)"),
    ("open_without_outcome", "Open at the month's end"),
]
WAITING_SHOWN = 5


def last_month(today: date | None = None) -> date:
    today = today or timezone.now().astimezone(UK).date()
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def _waiting(code: str, end: Any) -> list[dict[str, Any]]:
    requests = (
        ExternalRequest.objects.filter(task__assignee_org__code=code, sent_at__lt=end)
        .exclude(answered_at__lt=end)
        .select_related("task__referral")
        .order_by("sent_at", "id")[:WAITING_SHOWN]
    )
    return [
        {
            "counterpart": r.counterpart,
            "kind": r.kind,
            "referral": r.task.referral.external_id,
            "days_waiting": (end - r.sent_at).days,
        }
        for r in requests
    ]


def monthly_summaries_produce(month: date) -> int:
    """Summaries of ``month`` for every spoke that held work then; returns how many were made
    now (0 when they exist already)."""
    start, end = _at(month), _at(_next_month(month))
    report = spoke_report(period=Period(since=start, until=end))
    orgs = {o.code: o for o in Organisation.objects.filter(code__in=[row["org"] for row in report])}
    made = 0
    for row in report:
        figures = {key: row[key] for key, _ in FIELDS}
        figures["justice_outcomes"] = row["justice_outcomes"]
        figures["safeguarding_outcomes"] = row["safeguarding_outcomes"]
        figures["oldest_waiting_requests"] = _waiting(row["org"], end)
        try:
            with transaction.atomic():
                summary = MonthlySummary.objects.create(
                    organisation=orgs[row["org"]], month=month, figures=figures
                )
                audit_record(
                    actor=None,
                    action=AuditAction.MONTHLY_SUMMARY_PRODUCED,
                    object_type="monthly_summary",
                    object_id=summary.pk,
                    changes={"org": row["org"], "month": f"{month:%Y-%m}"},
                )
        except IntegrityError:
            continue  # produced already (another beat, or an earlier run)
        made += 1
    return made


def summary_csv(summary: MonthlySummary) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["spoke", "month", "figure", "value"])
    code, month = summary.organisation.code, f"{summary.month:%Y-%m}"
    for key, label in FIELDS:
        writer.writerow([code, month, label, summary.figures.get(key, 0)])
    for kind in ("justice_outcomes", "safeguarding_outcomes"):
        for outcome, count in sorted(summary.figures.get(kind, {}).items()):
            writer.writerow([code, month, f"{kind.replace('_', ' ')}: {outcome}", count])
    for item in summary.figures.get("oldest_waiting_requests", []):
        writer.writerow(
            [code, month, f"waiting: {item['counterpart']} ({item['referral']})", item["days_waiting"]]
        )
    return out.getvalue()


def summary_pdf(summary: MonthlySummary) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"VIHub monthly summary {summary.organisation.code} {summary.month:%Y-%m}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 6, "OFFICIAL-SENSITIVE", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, f"{summary.organisation.name}: {summary.month:%B %Y}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        f"Produced {summary.produced_at.astimezone(UK):%d %B %Y %H:%M} by VIHub",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 11)
    for key, label in FIELDS:
        pdf.cell(120, 7, label)
        pdf.cell(0, 7, str(summary.figures.get(key, 0)), new_x="LMARGIN", new_y="NEXT", align="R")
    for kind, title in (
        ("justice_outcomes", "Criminal-justice outcomes"),
        ("safeguarding_outcomes", "Safeguarding outcomes"),
    ):
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for outcome, count in sorted(summary.figures.get(kind, {}).items()) or [("none", 0)]:
            pdf.cell(120, 7, outcome.replace("_", " "))
            pdf.cell(0, 7, str(count), new_x="LMARGIN", new_y="NEXT", align="R")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Oldest requests still waiting", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for item in summary.figures.get("oldest_waiting_requests", []) or [
        {"counterpart": "none", "referral": "", "days_waiting": ""}
    ]:
        pdf.cell(120, 7, f"{item['counterpart']} {item['referral']}".strip())
        pdf.cell(
            0,
            7,
            f"{item['days_waiting']} days" if item["days_waiting"] != "" else "",
            new_x="LMARGIN",
            new_y="NEXT",
            align="R",
        )
    return bytes(pdf.output())

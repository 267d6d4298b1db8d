"""The spokes' part of `manage.py seed_demo`: a worked case at Kent Police with the
victim-identification record filled in, so a newcomer sees every part of the task page."""

from __future__ import annotations

from hub.models import Organisation, Referral, Team, User
from hub.services.organisations import team_member_add
from hub.services.referrals import referral_create, referral_triage
from hub.services.tasks import task_allocate
from spokes.models import Child
from spokes.services import (
    child_add,
    child_check,
    handoff_offer,
    suspect_event_record,
    task_accept,
    task_reassess,
)

EXTERNAL_ID = "CT-DEMO-0005"


def seed_worked_case() -> str:
    """Idempotent: a second run finds the case and leaves it."""
    ncmec, kent, essex = (Organisation.objects.get(code=code) for code in ("NCMEC", "KENT", "ESSEX"))
    existing = Referral.objects.filter(agency=ncmec, external_id=EXTERNAL_ID).first()
    if existing is not None and existing.tasks.exists():
        return f"{EXTERNAL_ID}: the worked case is already there."
    agency_user = User.objects.get(username="demo-ncmec")
    coordinator = User.objects.get(username="demo-coordinator")
    officer = User.objects.get(username="demo-kent-officer")
    summary = "Chat logs: an adult in Kent messaging children he coaches; two children named by first name."
    referral = referral_create(agency=ncmec, external_id=EXTERNAL_ID, actor=agency_user, summary=summary,
                               suspect_force=kent, media=[{"sha256": "5" * 64}]).referral  # fmt: skip
    team_member_add(team_code="GROOMING", user=coordinator, actor=None)
    referral = referral_triage(
        referral=referral, actor=coordinator, grade=2, risk="high", access_to_children=["leisure", "family"],
        is_information_incomplete=True, missing_information=["suspect_location"],
        risk_factors=["online_escalation"], offence_type="grooming",
        team=Team.objects.get(code="GROOMING"),
        rationale="Coach with access to children through his club; contact planned.",
    )  # fmt: skip
    task = task_allocate(
        referral=referral, to_org=kent, actor=coordinator, instructions="Identify the children."
    )
    task = task_accept(task=task, actor=officer)
    niece = child_add(task=task, actor=officer, reference="K-C1", relation=Child.Relation.REACHABLE,
                      access_route=Child.AccessRoute.FAMILY, is_identified=True, is_located=True)  # fmt: skip
    child_add(task=task, actor=officer, reference="K-C2", relation=Child.Relation.REACHABLE,
              access_route=Child.AccessRoute.LEISURE, is_identified=True)  # fmt: skip
    pupil = child_add(task=task, actor=officer, reference="K-C3", relation=Child.Relation.CONTACT,
                      access_route=Child.AccessRoute.ONLINE, is_identified=True)  # fmt: skip
    child_check(
        child=niece, actor=officer, kind="safe_and_well", result="Seen at home with her mother; well."
    )
    task_reassess(
        task=task, actor=officer, risk="very_high", access_to_children=["leisure", "family"],
        risk_factors=["online_escalation", "previous_offending"],
        rationale="Our records: a 2011 caution for indecent images; he also lives with his niece.",
    )  # fmt: skip
    suspect_event_record(task=task, actor=officer, kind="arrested")
    handoff_offer(child=pupil, actor=officer, to_org=essex, note="Lives in Essex: please safeguard.")
    return (
        f"{EXTERNAL_ID}: a worked case at Kent (accepted by demo-kent-officer) with three children, "
        "one checked, one reachable and not checked yet (bail is refused), a hand-off to Essex waiting, "
        "and Kent's re-assessment (very high risk) beside the hub's grade 2, routed to the grooming team."
    )

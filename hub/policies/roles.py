"""Role sets: what kind of person may do a thing. Written here and nowhere else; the rows of
``hub.policies.rules`` combine them with an object scope and a state check."""

from __future__ import annotations

from hub.models import Membership

R = Membership.Role

ALL_ROLES = frozenset(R.values)
HUB_ROLES = frozenset({R.COORDINATOR})
# The hub's administrator keeps accounts, tokens, contacts and the deadline policy, and sees no
# case (separation of duties: whoever issues access does not read the referrals).
ADMIN_ROLES = frozenset({R.ADMINISTRATOR})
AUDITOR_ROLES = frozenset({R.AUDITOR})
AGENCY_ROLES = frozenset({R.AGENCY})
REGION_ROLES = frozenset({R.REGIONAL_COORDINATOR})
SUPERVISOR_ROLES = frozenset({R.SUPERVISOR})
# Hub coordinators and auditors see every referral and task (auditors read-only).
READ_ALL_ROLES = frozenset({R.COORDINATOR, R.AUDITOR})
# Regions and forces: they see what they hold (or, for a region, oversee).
SPOKE_ROLES = frozenset({R.OFFICER, R.SUPERVISOR, R.REGIONAL_COORDINATOR})
TASK_WORKER_ROLES = SPOKE_ROLES
TASK_READER_ROLES = READ_ALL_ROLES | SPOKE_ROLES
INTAKE_ROLES = frozenset({R.AGENCY, R.COORDINATOR})
REFERRAL_READER_ROLES = READ_ALL_ROLES | SPOKE_ROLES | AGENCY_ROLES
OUTCOME_ROLES = HUB_ROLES | TASK_WORKER_ROLES
# Who takes responsibility for a breach: the holder's supervisors, the region, the hub (an
# officer cannot acknowledge the breach of a task their own organisation holds).
ACK_ROLES = frozenset({R.COORDINATOR, R.REGIONAL_COORDINATOR, R.SUPERVISOR})
RESUME_ROLES = frozenset({R.COORDINATOR, R.OFFICER, R.SUPERVISOR, R.REGIONAL_COORDINATOR})
# Spoke-internal text (summaries, notes, staff names) is never shown to agencies.
INTERNAL_READER_ROLES = ALL_ROLES - AGENCY_ROLES - ADMIN_ROLES
# Who is told that a child was handed to their organisation: everyone there who can act on it.
HANDOFF_RECEIVER_ROLES = ALL_ROLES - AUDITOR_ROLES - ADMIN_ROLES
# Who reviews material (and logs exposure); who looks after their welfare.
EXPOSURE_ROLES = TASK_WORKER_ROLES | HUB_ROLES
WELFARE_ROLES = SUPERVISOR_ROLES | HUB_ROLES
# Who looks after people's accounts: the hub (its coordinators and administrator) for everyone, a
# supervisor for their own organisation. Adding, moving and switching people off is the
# administrator's and the supervisors' (a coordinator resets a lost second factor, no more).
PEOPLE_ADMIN_ROLES = HUB_ROLES | SUPERVISOR_ROLES | ADMIN_ROLES
PEOPLE_MANAGER_ROLES = ADMIN_ROLES | SUPERVISOR_ROLES
# The roles a supervisor may give, within their own organisation.
SUPERVISOR_GRANTS = frozenset({R.OFFICER, R.SUPERVISOR})
# Who reads the deadline policy and the organisations' contacts.
POLICY_READER_ROLES = READ_ALL_ROLES | ADMIN_ROLES
CONTACT_READER_ROLES = ALL_ROLES - AGENCY_ROLES

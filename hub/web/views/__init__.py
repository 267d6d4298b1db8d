"""The hub's web pages, one module per feature: landing by role, the triage queue and the
referral page (grade and allocate), the board of all tasks with reassignment, the agency's view,
the auditor's trail (search, export, chain verification, timelines), and everyone's inbox of
reminders and escalations (with Acknowledge).

Every view is a ``hub.web.shortcuts.policy_view`` on its row of the policy registry: login →
membership → the object in the caller's scoped queryset (404 outside it) → ``authorize``
(403) → one form → one service through ``attempt`` → PRG redirect, or the page again with the
input and the error. Every page that shows a sensitive record writes the same audit row an API
read does, through the same service.
"""

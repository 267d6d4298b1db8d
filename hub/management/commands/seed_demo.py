"""manage.py seed_demo: demo people and a few referrals to try VIHub with (never in production)."""

from __future__ import annotations

import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from hub.hooks import demo_seeders
from hub.models import Organisation, Referral, User
from hub.services.hashsets import hashset_import
from hub.services.matching import referral_match_media
from hub.services.organisations import membership_set
from hub.services.referrals import referral_create

PEOPLE = [
    ("demo-coordinator", "NCA", "coordinator", "Priya", "Shah"),
    # A second coordinator: a change to where an agency's disclosures go needs two.
    ("demo-coordinator-2", "NCA", "coordinator", "Omar", "Haddad"),
    ("demo-auditor", "NCA", "auditor", "Alex", "Morgan"),
    ("demo-admin", "NCA", "administrator", "Morgan", "Ellis"),
    ("demo-ersou", "ERSOU", "regional_coordinator", "Dana", "Reid"),
    ("demo-kent-officer", "KENT", "officer", "Sam", "Fletcher"),
    ("demo-kent-supervisor", "KENT", "supervisor", "Jo", "Okafor"),
    ("demo-ncmec", "NCMEC", "agency", "NCMEC", "integration"),
]
# The named victim-ID liaisons (domain §9, "a named liaison in each force"): invented people and
# numbers in Ofcom's drama ranges (01632 960xxx, 07700 900xxx), so nobody real is ever called.
CONTACTS = {
    "KENT": ("DS Hannah Cole", "vid.liaison@kent.example", "01632 960101", "07700 900101"),
    "ESSEX": ("DS Tom Reeve", "vid.liaison@essex.example", "01632 960102", "07700 900102"),
    "GMP": ("DC Aisha Khan", "vid.liaison@gmp.example", "01632 960103", "07700 900103"),
    "ERSOU": ("DI Mark Webb", "vid.desk@ersou.example", "01632 960104", "07700 900104"),
}
REFERRALS = [
    (
        "NCMEC",
        "CT-DEMO-0001",
        True,
        "KENT",
        "Upload flagged by hash match; first-generation images; UK IP in Kent.",
    ),
    ("NCMEC", "CT-DEMO-0002", False, "ESSEX", "Chat logs: an adult arranging to meet a 13-year-old."),
    ("IWF", "IWF-DEMO-0003", False, None, "Public report of a URL hosting indecent images; host unknown."),
    (
        "NCMEC",
        "CT-DEMO-0004",
        False,
        "GMP",
        "Account sharing known images; no sign of contact offending yet.",
    ),
]
# Synthetic hashes (never real material): CT-DEMO-0002 and IWF-DEMO-0003 carry near-duplicate PDQ
# hashes (12 bits apart), CT-DEMO-0004 one in the demo known set (victim identified), and
# CT-DEMO-0001 is first-generation material no known set has.
DEMO_PDQ = {
    "CT-DEMO-0002": "23b8c1e9392456de3eb13b9046685257bdd640fb06671ad11c80317fa3b1799d",
    "IWF-DEMO-0003": "23b8c1e9386456de3eb13b9046685257bd57c0db06671ad11c90a17fa3b0d99d",
    "CT-DEMO-0004": "ce4a2bbdc241330b01a9e71fde8a774bcf36d58b4737819096da1dac72ff5d2a",
    "CT-DEMO-0001": "f50bea63371ecd7b27cd813047229389571aa8766c307511b2b9437a28df6ec4",
}
DEMO_KNOWN_SET = Path(__file__).resolve().parents[2] / "data" / "demo-known-set.jsonl"


class Command(BaseCommand):
    help = "Create demo users (one per role) and a few referrals. Refuses to run with DEBUG off."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password-stdin", action="store_true", help="Read one password for all demo users"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo is for the embedded default (make run), not production")
        password = sys.stdin.readline().strip() if options["password_stdin"] else secrets.token_urlsafe(12)
        actor = None
        for username, org, role, first, last in PEOPLE:
            membership = membership_set(
                username=username, org_code=org, role=role, actor=actor, password=password
            )
            User.objects.filter(pk=membership.user_id).update(first_name=first, last_name=last)
        for code, (name, email, phone, out_of_hours) in CONTACTS.items():
            Organisation.objects.filter(code=code, contact_name="").update(
                contact_name=name,
                contact_email=email,
                contact_phone=phone,
                out_of_hours_phone=out_of_hours,
                contacts_updated_at=timezone.now(),
            )
        # An agency posts its own referrals; one without a demo account is entered by the hub.
        posters = {"NCMEC": User.objects.get(username="demo-ncmec")}
        coordinator = User.objects.get(username="demo-coordinator")
        now = timezone.now()
        hashset_import(path=DEMO_KNOWN_SET, source="DEMO-KNOWN-SET", actor=None)
        for i, (agency, external_id, urgent, force, summary) in enumerate(REFERRALS):
            if Referral.objects.filter(agency__code=agency, external_id=external_id).exists():
                continue  # a second run leaves the demo referrals as they are
            made = referral_create(
                agency=Organisation.objects.get(code=agency),
                external_id=external_id,
                actor=posters.get(agency, coordinator),
                received_at=now - timedelta(hours=6 * (i + 1)),
                summary=summary,
                suspect_force=Organisation.objects.get(code=force) if force else None,
                is_urgent=urgent,
                media=[
                    {
                        "sha256": secrets.token_hex(32),
                        "pdq": DEMO_PDQ[external_id],
                        "first_generation": external_id == "CT-DEMO-0001",
                    }
                ],
            ).referral
            referral_match_media(referral=made)  # the worker would too; the demo shows it at once
        self.stdout.write(f"Demo users (password for all: {password}):")
        for username, org, role, *_ in PEOPLE:
            self.stdout.write(f"  {username:22} {role:22} {org}")
        self.stdout.write(
            "Second factor: at their first sign-in each person sets up an authenticator app (scan the\n"
            "  QR code, or type the key shown, into any TOTP app: Microsoft or Google Authenticator,\n"
            "  FreeOTP, or `oathtool --totp -b KEY` in a shell) and is shown ten recovery codes once.\n"
            "  Every sign-in then asks for the app's code. Lost it: demo-admin (or a coordinator)\n"
            "  resets it on People, or `manage.py reset_factors USERNAME --reason ...` here.\n"
            "demo-admin keeps people, API tokens, contacts and the deadline policy, and sees no case."
        )
        waiting = Referral.objects.filter(external_id__contains="-DEMO-", status="received").count()
        self.stdout.write(f"{waiting} demo referrals in the triage queue.")
        for seeder in demo_seeders():
            self.stdout.write(seeder())

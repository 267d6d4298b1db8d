"""Your own second factors: the app, recovery codes and passkeys (hub/web/factors.py)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from hub.constants import AuditAction
from hub.services.audit import audit_record
from hub.services.factors import app_device, issue_recovery_codes, passkeys, recovery_codes_left
from hub.web.factors import factor_recent, step_up_redirect
from hub.web.kept import signed_in
from hub.web.shortcuts import page


@signed_in
def manage(request: HttpRequest) -> HttpResponse:
    """Shows only the person's own factors, so it needs no row of the rulebook; new recovery
    codes (the old ones then stop working) and adding a passkey need a recent factor."""
    user = request.user
    new_codes: list[str] = []
    if request.method == "POST" and request.POST.get("action") == "new_codes":
        if not factor_recent(request):
            return step_up_redirect(request, request.path)
        new_codes = [f"{code[:4]} {code[4:]}" for code in issue_recovery_codes(user)]
        audit_record(actor=user, action=AuditAction.AUTH_RECOVERY_CODES_ISSUED,  # type: ignore[arg-type]
                     object_type="user", object_id=user.pk, changes={"codes": len(new_codes)})  # fmt: skip
    return page(
        request,
        "registration/manage.html",
        {
            "app": app_device(user),
            "codes_left": recovery_codes_left(user),
            "codes_total": settings.VIHUB_RECOVERY_CODES,
            "new_codes": new_codes,
            "keys": passkeys(user),
            "recent": factor_recent(request),
        },
    )

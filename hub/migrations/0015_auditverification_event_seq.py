"""Each verification result names the ``audit.verified`` event that recorded it (issue 14), so a
row written straight into the table is not believed. Results kept before this are linked to
their event here (same verdict and count, recorded within seconds after), once, before the
table becomes append-only (0016)."""

from datetime import timedelta

from django.db import migrations, models


def link_existing(apps, schema_editor):
    AuditVerification = apps.get_model("hub", "AuditVerification")
    AuditEvent = apps.get_model("hub", "AuditEvent")
    used: set[int] = set()
    for row in AuditVerification.objects.filter(event_seq__isnull=True).order_by("ran_at", "id"):
        candidates = AuditEvent.objects.filter(
            action="audit.verified",
            occurred_at__gte=row.ran_at - timedelta(seconds=1),
            occurred_at__lte=row.ran_at + timedelta(seconds=30),
        ).order_by("seq")
        for event in candidates:
            changes = event.changes or {}
            if event.seq in used or changes.get("ok") != row.is_ok:
                continue
            if changes.get("events") != row.events_checked:
                continue
            used.add(event.seq)
            AuditVerification.objects.filter(pk=row.pk).update(event_seq=event.seq)
            break


class Migration(migrations.Migration):
    dependencies = [("hub", "0014_media_matching")]

    operations = [
        migrations.AddField(
            model_name="auditverification",
            name="event_seq",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(link_existing, migrations.RunPython.noop),
    ]

"""Agencies' webhook signing secrets encrypted at rest (hub/crypto.py; issue 14)."""

import hub.crypto
from django.db import migrations


def encrypt_existing(apps, schema_editor):
    """Every secret written in plain text before is encrypted now (the field encrypts on save)."""
    WebhookEndpoint = apps.get_model("safeguarding", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.all():
        endpoint.save(update_fields=["secret", "previous_secret"])


class Migration(migrations.Migration):

    dependencies = [
        ('safeguarding', '0003_outcome_revisions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='webhookendpoint',
            name='previous_secret',
            field=hub.crypto.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='webhookendpoint',
            name='secret',
            field=hub.crypto.EncryptedTextField(),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]

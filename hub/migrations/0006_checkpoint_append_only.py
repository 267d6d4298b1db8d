"""Checkpoints are append-only too (same trigger function, now naming the table)."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION vihub_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('vihub.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '%% is append-only (%% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS vihub_checkpoint_no_update_delete ON hub_auditcheckpoint;
CREATE TRIGGER vihub_checkpoint_no_update_delete BEFORE UPDATE OR DELETE ON hub_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION vihub_audit_append_only();
DROP TRIGGER IF EXISTS vihub_checkpoint_no_truncate ON hub_auditcheckpoint;
CREATE TRIGGER vihub_checkpoint_no_truncate BEFORE TRUNCATE ON hub_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION vihub_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS vihub_checkpoint_no_update_delete ON hub_auditcheckpoint;
DROP TRIGGER IF EXISTS vihub_checkpoint_no_truncate ON hub_auditcheckpoint;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("hub", "0005_audit_checkpoints")]
    operations = [migrations.RunPython(forward, backward)]

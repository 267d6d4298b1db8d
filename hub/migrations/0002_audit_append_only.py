"""On PostgreSQL, make hub_auditevent append-only at the database level: a trigger refuses
UPDATE and DELETE, a statement trigger refuses TRUNCATE. The app's own connection cannot edit
history; only a superuser disabling triggers could, and the hash chain and signed checkpoints
exist to catch that."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION vihub_audit_append_only() RETURNS trigger AS $$
BEGIN
    -- TRUNCATE is let through only for a session that opted in explicitly (the test suite's
    -- database flush). In production the application role has no TRUNCATE grant at all
    -- (docs/deploy.md), so this escape hatch is closed there by privileges.
    IF TG_OP = 'TRUNCATE' AND current_setting('vihub.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'hub_auditevent is append-only (%% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS vihub_audit_no_update_delete ON hub_auditevent;
CREATE TRIGGER vihub_audit_no_update_delete BEFORE UPDATE OR DELETE ON hub_auditevent
    FOR EACH ROW EXECUTE FUNCTION vihub_audit_append_only();
DROP TRIGGER IF EXISTS vihub_audit_no_truncate ON hub_auditevent;
CREATE TRIGGER vihub_audit_no_truncate BEFORE TRUNCATE ON hub_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION vihub_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS vihub_audit_no_update_delete ON hub_auditevent;
DROP TRIGGER IF EXISTS vihub_audit_no_truncate ON hub_auditevent;
DROP FUNCTION IF EXISTS vihub_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("hub", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]

"""The audit trail stays whole (issue 14).

- PostgreSQL: the append-only trigger function loses its escape hatch (TRUNCATE used to pass for
  any session that set ``vihub.allow_audit_truncate``, a setting any role can set). UPDATE,
  DELETE and TRUNCATE are refused on the events, the checkpoints and now the verification
  results too. Only the tables' owner can switch a trigger off (``ALTER TABLE``); that is what
  the signed checkpoints and the off-host witness catch (``verify_audit``). The test suite
  switches the TRUNCATE triggers off for its own flush (``tests/conftest.py``), as an owner.
- SQLite (the embedded default): the same refusals as triggers, which it had none of.
"""

from django.db import migrations

TABLES = ("hub_auditevent", "hub_auditcheckpoint", "hub_auditverification")

PG_FORWARD = """
CREATE OR REPLACE FUNCTION vihub_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only (%% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS vihub_verification_no_update_delete ON hub_auditverification;
CREATE TRIGGER vihub_verification_no_update_delete BEFORE UPDATE OR DELETE ON hub_auditverification
    FOR EACH ROW EXECUTE FUNCTION vihub_audit_append_only();
DROP TRIGGER IF EXISTS vihub_verification_no_truncate ON hub_auditverification;
CREATE TRIGGER vihub_verification_no_truncate BEFORE TRUNCATE ON hub_auditverification
    FOR EACH STATEMENT EXECUTE FUNCTION vihub_audit_append_only();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS vihub_verification_no_update_delete ON hub_auditverification;
DROP TRIGGER IF EXISTS vihub_verification_no_truncate ON hub_auditverification;
"""

# The statement-level triggers the test suite's flush has to pass (name, table).
PG_TRUNCATE_TRIGGERS = (
    ("vihub_audit_no_truncate", "hub_auditevent"),
    ("vihub_checkpoint_no_truncate", "hub_auditcheckpoint"),
    ("vihub_verification_no_truncate", "hub_auditverification"),
)


def sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE statement) of each SQLite trigger: UPDATE and DELETE refused per table."""
    made = []
    for table in TABLES:
        for op in ("UPDATE", "DELETE"):
            name = f"vihub_{table}_no_{op.lower()}"
            made.append(
                (
                    name,
                    f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only ({op} refused)'); END",
                )
            )
    return made


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for _, statement in sqlite_triggers():
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for name, _ in sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("hub", "0015_auditverification_event_seq")]
    operations = [migrations.RunPython(forward, backward)]

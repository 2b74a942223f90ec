"""On PostgreSQL, the database refuses changing a final invoice too, not only the
services: no UPDATE or DELETE of a non-draft invoice's lines, no DELETE of a non-draft
invoice, no change of its number, money, account, currency, period or kind, and none at
all once void (voiding a final invoice changes its status and reason only). SQLite has no
such trigger; the services refuse the same changes there (docs/billing-rules.md)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION invoicing_refuse_final_line_change() RETURNS trigger AS $$
DECLARE
    invoice_status varchar;
BEGIN
    SELECT status INTO invoice_status FROM invoicing_invoice WHERE id = OLD.invoice_id;
    IF invoice_status IS NOT NULL AND invoice_status <> 'draft' THEN
        RAISE EXCEPTION 'invoice_final: the lines of invoice % cannot be changed',
            OLD.invoice_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER invoicing_final_line_frozen
    BEFORE UPDATE OR DELETE ON invoicing_invoiceline
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_final_line_change();

CREATE OR REPLACE FUNCTION invoicing_refuse_final_invoice_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' OR OLD.status = 'void'
        OR NEW.status = 'draft'
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.subtotal <> OLD.subtotal OR NEW.tax <> OLD.tax OR NEW.total <> OLD.total
        OR NEW.currency <> OLD.currency OR NEW.account_id <> OLD.account_id
        OR NEW.kind <> OLD.kind
        OR NEW.period_start <> OLD.period_start OR NEW.period_end <> OLD.period_end
        OR NEW.issue_date IS DISTINCT FROM OLD.issue_date
        OR NEW.due_date IS DISTINCT FROM OLD.due_date
    THEN
        RAISE EXCEPTION 'invoice_final: invoice % is % and cannot be changed',
            OLD.id, OLD.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER invoicing_final_invoice_frozen
    BEFORE UPDATE OR DELETE ON invoicing_invoice
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_final_invoice_change();
"""

DROP = """
DROP TRIGGER IF EXISTS invoicing_final_invoice_frozen ON invoicing_invoice;
DROP FUNCTION IF EXISTS invoicing_refuse_final_invoice_change();
DROP TRIGGER IF EXISTS invoicing_final_line_frozen ON invoicing_invoiceline;
DROP FUNCTION IF EXISTS invoicing_refuse_final_line_change();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]

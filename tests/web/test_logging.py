"""What the log says about a refused request: one line with its reason, no traceback.
A server error keeps its traceback."""

import logging
import sys

import pytest

from tests.factories import make_role, make_user

pytestmark = pytest.mark.django_db


def test_a_403_page_is_one_line_in_the_log(client, company, caplog):
    clerk = make_user(company, "clerk@acme.test", role=make_role(company, "Clerk"))
    client.force_login(clerk)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/admin/security/roles/")
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    record = records[0]
    assert record.exc_info is None and not record.exc_text
    line = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "\n" not in line
    assert line.startswith("WARNING django.request: Forbidden (Permission denied): ")
    assert "/admin/security/roles/" in line


def test_a_server_error_keeps_its_traceback():
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logger.makeRecord(
            logger.name,
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            ("/x",),
            sys.exc_info(),
            extra={"status_code": 500},
        )
    assert all(f.filter(record) for f in logger.filters)
    assert record.exc_info is not None

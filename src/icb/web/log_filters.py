"""Filters of the log (LOGGING in settings.py names them)."""

import logging


class ClientErrorWithoutTraceback(logging.Filter):
    """An ordinary refusal (a 403 for a role that may not, a 400, a 404) is one line in
    the log, with its reason: Django logs it with the exception, whose traceback says
    nothing about a fault and buries the lines that do. Server errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500 and record.exc_info:
            exc = record.exc_info[1]
            reason = str(exc) if exc is not None else ""
            if reason:
                record.msg = f"{record.msg} (%s)"
                record.args = (*(record.args or ()), reason.replace("\n", " "))
            record.exc_info = None
            record.exc_text = None
        return True

"""Every failure a user can cause, as one line on stderr saying what to do.

The command group of ``boxoffice`` (``main.py``) hands each exception a command raises to
:func:`explain`; what it explains is printed by :func:`print_error` as ``error: <message>``,
one line however long, and the command exits non-zero:

=====  ==============================================================================
exit   cause
=====  ==============================================================================
1      what was asked: an unknown tenant or credential, a bad value or file
       (:class:`CliError`, domain errors, a file that cannot be read or written)
2      the installation: no secret key, no database or an old schema, an invalid
       ``BOXOFFICE_*`` setting, the database unreachable or refusing the login, the
       port in use (``ConfigurationError``, :class:`CliError` with ``exit_code=2``)
=====  ==============================================================================

Anything else is a bug and keeps its traceback; ``boxoffice --debug`` (or
``BOXOFFICE_DEBUG=1``) shows the traceback of the explained ones too.
"""

from __future__ import annotations

import sys

from pydantic import ValidationError

from boxoffice.bootstrap import database_problem
from boxoffice.domain.errors import DomainError, NotFound
from boxoffice.settings import ConfigurationError, Settings

#: What lists the records of a kind that was not found.
_LISTS = {
    "tenant": "boxoffice tenant list",
    "api user": "boxoffice api-user list TENANT",
    "api key": "boxoffice api-key list TENANT",
    "interface user": "boxoffice interface-user list TENANT",
}


class CliError(Exception):
    """A problem with what the user gave the command; ``message`` says what to do."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def explain(exc: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit status for ``exc``, or None for a bug."""
    if isinstance(exc, CliError):
        return exc.message, exc.exit_code
    if isinstance(exc, NotFound) and exc.kind in _LISTS:
        return f"{exc} (`{_LISTS[exc.kind]}` lists them)", 1
    if isinstance(exc, DomainError):
        return str(exc), 1
    if isinstance(exc, ConfigurationError):
        return str(exc), 2
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return _invalid_setting(exc), 2
    try:
        problem = database_problem(exc, Settings())
    except (ValidationError, ValueError):
        problem = None
    if problem is not None:
        return problem, 2
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot use {exc.filename}: {exc.strerror or exc}", 1
    return None


def _invalid_setting(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        name = "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"BOXOFFICE_{name}: {error['msg']}")
    return "invalid setting " + "; ".join(problems)


def print_error(message: str) -> None:
    """``error: <message>`` on one line of stderr (never wrapped to the terminal's width)."""
    sys.stderr.write("error: " + " ".join(message.split()) + "\n")
    sys.stderr.flush()

"""Payment complements (REP) as the portal follows them: when each is due (``deadline``)
and which approved payments still lack one (``missing``). Importing them is an ERP import
kind (:mod:`canonportal.erp.complements`); the customer's pages and downloads are
:mod:`canonportal.views.complements`.
"""
from .deadline import DEFAULT_DEADLINE_DAY, SETTING, deadline_day, rep_deadline  # noqa: F401
from .missing import Missing, missing_complements, needs_complement  # noqa: F401

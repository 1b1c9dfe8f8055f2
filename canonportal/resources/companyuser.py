"""The old name of :mod:`canonportal.resources.company_user`, kept for the database.

The ZODB stores each object with its class's module and name: the company users saved
before the module was renamed are ``canonportal.resources.companyuser.CompanyUser`` in
their records, and load through this alias (saved again, they are written with the new
name). Code imports :mod:`.company_user`, never this module.
"""
from .company_user import CompanyUser  # noqa: F401 - the class old records name


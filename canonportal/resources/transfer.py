"""The old name of :mod:`canonportal.resources.incoming_transfer`, kept for the database.

The ZODB stores each object with its class's module and name: the transfers and their
folder saved before the module was renamed are ``canonportal.resources.transfer.*`` in
their records and load through this alias (saved again, they are written with the new
name). Code imports :mod:`.incoming_transfer`, never this module.
"""
from .incoming_transfer import IncomingTransfer, Transfers  # noqa: F401 - classes old records name

"""Sandbox banks for development and tests: a Citibanamex and a BBVA speaking the banks' side.

Standalone WSGI applications (WebOb only); nothing here imports the portal.
``mount`` puts them beside the portal under /sandbox/banamex and /sandbox/bbva.
"""

"""Test-session setup: where compiled templates are kept, and the fixture plugins."""
import os
import sys

# Chameleon compiles every template again for each app a test builds unless it may
# keep the compiled modules on disk; it reads the folder once, when first imported.
os.environ.setdefault('CHAMELEON_CACHE', os.path.join(sys.prefix, 'chameleon-cache'))
os.makedirs(os.environ['CHAMELEON_CACHE'], exist_ok=True)

# Fixtures shared by the test modules live in these plugins (a test module never imports
# a fixture, nor this file): the portal on a fresh database and its clients
# (portal_support), paying through the sandbox banks, browsers, served clusters, what
# `make run` serves, scripts, the banks' notification recorder.
pytest_plugins = ('portal_support', 'payment_support', 'spei_support', 'browser_support',
                  'server_support', 'devserver_support', 'script_support', 'recorder')

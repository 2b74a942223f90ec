"""The shared fixtures are one plugin, tests/fixtures.py; builders are in
tests/factories.py, client helpers in tests/clients.py."""

pytest_plugins = ["tests.fixtures"]

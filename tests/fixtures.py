"""The fixtures every test folder may use, in one pytest plugin (tests/conftest.py
registers it with ``pytest_plugins``). A folder's conftest.py adds only fixtures of its
own and imports no other conftest; plain data builders are in tests/factories.py, the
ways a test talks to the product (API, browser login, hub sign-in) in tests/clients.py."""

import pytest

from sandbox_hub.runner import start_sandbox
from tests.clients import CALLBACK
from tests.factories import make_account, make_company, make_contract, make_user
from tests.webhook_receiver import start_receiver


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hashing with PBKDF2's 1,000,000 rounds is most of the time of a test that makes a
    user; the password rules are not what these tests are about. Processes the tests
    start keep the real hashers (they log in with force_login)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- a company and its administrator ---------------------------------------------------


@pytest.fixture
def company(db):
    return make_company("Acme MSP")


@pytest.fixture
def other_company(db):
    return make_company("Rival MSP")


@pytest.fixture
def admin_user(company):
    return make_user(company, "admin@acme.test", role="Administrator")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def account(company):
    return make_account(company, "Harbor Dental Group", "HARBOR")


@pytest.fixture
def contract(account):
    return make_contract(account, "Managed Services")


# --- the sandbox hub, a real HTTP server -----------------------------------------------


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox hub (a subprocess, test controls on) for the whole session."""
    handle = start_sandbox(redirect_uri=CALLBACK, organizations=30, seed=7)
    yield handle
    handle.stop()


@pytest.fixture
def hub(settings, sandbox):
    """The product pointed at the sandbox, with short retry waits; faults cleared after."""
    settings.ICB_HUB_URL = sandbox.url
    settings.ICB_HUB_CLIENT_ID = "icb"
    settings.ICB_HUB_CLIENT_SECRET = "icb-sandbox-secret"
    settings.ICB_HUB_RETRY_BASE = 0.05
    settings.ICB_HUB_MAX_RETRY_WAIT = 0.2
    settings.ICB_HUB_TIMEOUT = 3
    sandbox.clear_faults()
    yield sandbox
    sandbox.clear_faults()


@pytest.fixture
def receiver():
    """A webhook receiver on loopback verifying signatures (tests/webhook_receiver.py);
    set its `secret` to the webhook's, `answers` to the status codes to give."""
    with start_receiver() as state:
        yield state

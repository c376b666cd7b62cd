"""A small team without an identity provider: people sign up, an admin approves them."""

from __future__ import annotations

import secrets
import time

import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.hubclient import HubUser
from tests.e2e.polling import eventually


@pytest.fixture(scope="module")
def boss(native: Deployment) -> HubUser:
    """The stack's admin, signed up (admins are approved on sign-up) and logged in."""
    password = secrets.token_urlsafe(12)
    admin = HubUser(native.url, "boss")
    assert admin.signup(password).status_code == 200
    admin.login(password)
    assert admin.logged_in(), "admins are approved on sign-up"
    return admin


def signed_up_and_approved(native: Deployment, boss: HubUser, name: str) -> tuple[HubUser, str]:
    password = secrets.token_urlsafe(12)
    user = HubUser(native.url, name)
    assert user.signup(password).status_code == 200
    assert boss.session.get(boss.url(f"hub/authorize/{name}"), timeout=30).status_code == 200
    return user, password


def test_a_new_user_logs_in_only_after_the_admin_approves(native: Deployment, boss: HubUser) -> None:
    carol_password = secrets.token_urlsafe(12)
    carol = HubUser(native.url, "carol")
    assert carol.signup(carol_password).status_code == 200
    carol.login(carol_password)
    assert not carol.logged_in(), "an unapproved user must not get in"

    # Carol is listed as pending on the admin's authorization page; she cannot open it herself.
    page = boss.session.get(boss.url("hub/authorize"), timeout=30)
    assert page.status_code == 200 and "carol" in page.text
    assert "carol" not in carol.session.get(carol.url("hub/authorize"), timeout=30).text

    approve = boss.session.get(boss.url("hub/authorize/carol"), timeout=30)
    assert approve.status_code == 200

    carol.login(carol_password)
    assert carol.logged_in()
    carol.start_server()
    assert carol.put_notebook("notes.ipynb", "print('hello')").status_code == 201


def test_repeated_wrong_passwords_lock_the_account_for_the_configured_time(
    native: Deployment, boss: HubUser
) -> None:
    dave, password = signed_up_and_approved(native, boss, "dave")
    for _ in range(3):  # allowedFailedLogins is 3 on this stack
        dave.login("wrong-" + password)
        assert not dave.logged_in()
    dave.login(password)
    assert not dave.logged_in(), "the right password must not work while the account is locked"

    time.sleep(5)  # lockoutSeconds is 5 on this stack: nothing can log dave in before that

    def logs_in() -> bool:
        dave.login(password)
        return dave.logged_in()

    eventually(logs_in, timeout=30, what="dave logging in once the lockout is over")

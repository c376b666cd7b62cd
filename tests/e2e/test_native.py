"""A small team without an identity provider: people sign up, an admin approves them."""

from __future__ import annotations

import secrets

from tests.e2e.conftest import Deployment
from tests.e2e.hubclient import HubUser


def test_a_new_user_logs_in_only_after_the_admin_approves(native: Deployment) -> None:
    boss_password = secrets.token_urlsafe(12)
    boss = HubUser(native.url, "boss")
    assert boss.signup(boss_password).status_code == 200
    boss.login(boss_password)
    assert boss.logged_in(), "admins are approved on sign-up"

    carol_password = secrets.token_urlsafe(12)
    carol = HubUser(native.url, "carol")
    assert carol.signup(carol_password).status_code == 200
    carol.login(carol_password)
    assert not carol.logged_in(), "an unapproved user must not get in"

    # Carol is listed as pending on the admin's authorization page; a non-admin cannot see it.
    page = boss.session.get(boss.url("hub/authorize"), timeout=30)
    assert page.status_code == 200 and "carol" in page.text
    assert (
        carol.session.get(carol.url("hub/authorize"), timeout=30).status_code in (302, 403)
        or not carol.logged_in()
    )

    approve = boss.session.get(boss.url("hub/authorize/carol"), timeout=30)
    assert approve.status_code == 200

    carol.login(carol_password)
    assert carol.logged_in()
    carol.start_server()
    assert carol.put_notebook("notes.ipynb", "print('hello')").status_code == 201

"""Declared groups and roles on a real hub: a teaching assistant opens the servers of the
students in their group and no one else's, and the stack config stays the whole truth when a
student changes group at the next `up`."""

from __future__ import annotations

import html
import re

import pytest

from tests.e2e.conftest import USER_PASSWORD, Deployment, StackFactory
from tests.e2e.hubclient import HubUser

AUTH = {"type": "shared-password", "allowAll": True}
SECRETS = {"auth.password": USER_PASSWORD}
TA_ROLE = {
    "name": "teaching-assistant",
    "description": "opens the servers of class A",
    "scopes": ["access:servers!group=class-a", "read:users!group=class-a"],
    "users": ["tina"],
}


def _logged_in(stack: Deployment, name: str) -> HubUser:
    user = HubUser(stack.url, name)
    assert user.login(USER_PASSWORD).status_code == 200
    assert user.logged_in(), f"{name} could not log in"
    return user


def _open(ta: HubUser, student: str) -> int:
    """The TA opens a student's server, as a browser follows the link: the server sends them
    through the hub's OAuth, which grants or refuses by the TA's scopes (the hub's 403). Once in,
    the server's API answers them too."""
    page = ta.session.get(ta.url(f"user/{student}/lab"), timeout=30)
    if page.status_code != 200:
        return page.status_code
    if "/hub/api/oauth2/authorize" in page.url:
        # Someone else's server: the hub asks the TA to authorize it (templates/oauth.html),
        # and the TA presses "Authorize".
        assert "Authorize access" in page.text, page.text[:500]
        fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
        page = ta.session.post(page.url, data=[(k, html.unescape(v)) for k, v in fields], timeout=30)
    assert page.status_code == 200 and page.url.endswith(f"/user/{student}/lab"), (page.status_code, page.url)
    return ta.session.get(ta.url(f"user/{student}/api/status"), timeout=30).status_code


@pytest.fixture(scope="module")
def classroom(make_stack: StackFactory) -> Deployment:
    return make_stack(
        AUTH, secret_config=SECRETS, extra={"groups": {"class-a": ["alice"]}, "roles": [TA_ROLE]}
    )


def test_roles_a_teaching_assistant_opens_the_servers_of_their_group_only(classroom: Deployment) -> None:
    alice, carol = _logged_in(classroom, "alice"), _logged_in(classroom, "carol")
    alice.start_server()
    carol.start_server()

    tina = _logged_in(classroom, "tina")
    assert _open(tina, "alice") == 200, "alice is in class-a"
    assert _open(tina, "carol") == 403, "carol is in no group the role names"
    assert tina.api("GET", "users/alice").status_code == 200
    assert tina.api("GET", "users/carol").status_code == 404, "the hub hides who is outside the filter"
    # Nobody else holds the role: a student cannot open another's server.
    assert _open(carol, "alice") == 403

    # The next `up`: alice leaves class-a, carol joins it. The hub restarts; the servers run on.
    classroom.configure(groups={"class-a": ["carol"]})
    classroom.up()
    tina = _logged_in(classroom, "tina")
    assert _open(tina, "carol") == 200, "carol joined class-a"
    assert _open(tina, "alice") == 403, "alice left class-a: the config is the whole membership"
    assert carol.server_get("api/status").status_code == 200, "the servers kept running through the up"

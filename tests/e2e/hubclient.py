"""A person in front of a JupyterHub, as an HTTP client: login form, spawn, files, REST API."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from typing import Any
from urllib.parse import quote

import requests
import websocket


class HubError(AssertionError):
    pass


def escape(name: str) -> str:
    """A username in a URL path, escaped the way JupyterHub does it (it keeps @ and ~)."""
    return quote(name, safe="@~")


class HubUser:
    """One browser: a cookie jar, and the hub's xsrf token as the pages hand it out."""

    def __init__(self, base_url: str, name: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.name = name
        self.session = requests.Session()

    def trusting(self, ca_file: object) -> HubUser:
        """Verify the hub's TLS against `ca_file` alone. trust_env is off because requests lets
        REQUESTS_CA_BUNDLE from the environment override a session's own `verify`."""
        self.session.trust_env = False
        self.session.verify = str(ca_file)
        return self

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def _xsrf(self) -> str:
        token = self.session.cookies.get("_xsrf", path="/hub/") or self.session.cookies.get("_xsrf")
        if not token:
            raise HubError("no _xsrf cookie: load a hub page first")
        return token

    # --- pages a person visits ---------------------------------------------------------
    def login_page(self) -> requests.Response:
        response = self.session.get(self.url("hub/login"), timeout=30)
        response.raise_for_status()
        return response

    def login(self, password: str, username: str | None = None) -> requests.Response:
        """Fill in and submit the login form, hidden xsrf field included."""
        return self.submit_login(self.open_login_form(), password, username)

    def open_login_form(self) -> str:
        """Load the login page, as a person does before typing; the form's xsrf field."""
        match = re.search(r'name="_xsrf"\s+value="([^"]+)"', self.login_page().text)
        if not match:
            raise HubError("login form has no _xsrf field")
        return match.group(1)

    def submit_login(self, xsrf: str, password: str, username: str | None = None) -> requests.Response:
        """Press "Sign in" on a form opened with `open_login_form`; follows the redirects."""
        return self.session.post(
            self.url("hub/login"),
            data={"username": username or self.name, "password": password, "_xsrf": xsrf},
            timeout=60,
        )

    def wait_for_hub_and_login(self, password: str, username: str | None = None, timeout: float = 90) -> bool:
        """Log in as soon as the hub answers again (after a restart); True once logged in."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.login(password, username)
                return self.logged_in()
            except (requests.RequestException, HubError):
                time.sleep(0.5)
        return False

    def logged_in(self) -> bool:
        response = self.session.get(self.url("hub/api/user"), timeout=30)
        return response.status_code == 200 and response.json().get("name") == self.name

    def signup(self, password: str) -> requests.Response:
        """NativeAuthenticator's sign-up form."""
        page = self.session.get(self.url("hub/signup"), timeout=30)
        page.raise_for_status()
        match = re.search(r'name="_xsrf"\s+value="([^"]+)"', page.text)
        data = {"username": self.name, "signup_password": password, "signup_password_confirmation": password}
        if match:
            data["_xsrf"] = match.group(1)
        return self.session.post(self.url("hub/signup"), data=data, timeout=30)

    # --- the hub's REST API, with the browser's cookie --------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if method.upper() != "GET":
            headers["X-XSRFToken"] = self._xsrf()
        return self.session.request(
            method, self.url("hub/api/" + path.lstrip("/")), headers=headers, timeout=60, **kwargs
        )

    def start_server(self, timeout: float = 120) -> dict[str, Any]:
        """Press "Start My Server", wait until the hub reports it ready, and open it.

        Opening it, as the browser's redirect to /user/<name>/lab does, runs the OAuth
        handshake that gives the browser its cookie for the server: the server's API answers
        403, not a redirect, to a request without one.
        """
        response = self.session.get(self.url(f"hub/spawn/{escape(self.name)}"), timeout=60)
        if response.status_code >= 400:
            raise HubError(f"spawn page: HTTP {response.status_code}: {response.text[:500]}")
        server = self.wait_ready(timeout)
        opened = self.server_get("lab")
        if opened.status_code != 200:
            raise HubError(f"opening the server: HTTP {opened.status_code} at {opened.url}")
        return server

    def submit_spawn_form(self, options: dict[str, str]) -> requests.Response:
        """Fill in the spawn form (e.g. the image choice) and press Start, as a browser does:
        JupyterHub puts the form's xsrf token in its action URL."""
        form = self.session.get(self.url(f"hub/spawn/{escape(self.name)}"), timeout=30)
        match = re.search(r'<form[^>]*id="spawn_form"[^>]*action="([^"]+)"', form.text, re.DOTALL)
        if not match:
            raise HubError(f"no spawn form at {form.url}")
        action = html.unescape(match.group(1))
        return self.session.post(self.url(action), data=options, timeout=120)

    def spawn_form_choices(self, field: str) -> list[str]:
        form = self.session.get(self.url(f"hub/spawn/{escape(self.name)}"), timeout=30)
        select = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', form.text, re.DOTALL)
        return re.findall(r'<option value="([^"]+)"', select.group(1)) if select else []

    def wait_ready(self, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        model: dict[str, Any] = {}
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{escape(self.name)}").json()
            server: dict[str, Any] = (model.get("servers") or {}).get("") or {}
            if server.get("ready"):
                return server
            time.sleep(0.5)
        raise HubError(f"server of {self.name} not ready after {timeout}s: {model}")

    def wait_spawned(self, timeout: float = 120) -> None:
        """Follow the spawn's progress as the spawn-pending page does: the hub's event stream,
        one long request, until the `ready` event (a running server sends it at once)."""
        url = self.url(f"hub/api/users/{escape(self.name)}/server/progress")
        with self.session.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise HubError(f"progress of {self.name}: HTTP {response.status_code}")
            for line in response.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line.removeprefix("data:"))
                if event.get("ready"):
                    return
                if event.get("failed"):
                    raise HubError(f"spawn of {self.name} failed: {event.get('message')}")
        raise HubError(f"progress of {self.name} ended without a ready event")

    def stop_server(self, timeout: float = 60) -> None:
        response = self.api("DELETE", f"users/{escape(self.name)}/server")
        if response.status_code not in (202, 204):
            raise HubError(f"stop server: HTTP {response.status_code}: {response.text[:300]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{escape(self.name)}").json()
            if not model.get("servers"):
                return
            time.sleep(0.5)
        raise HubError(f"server of {self.name} still running after {timeout}s")

    # --- the user's own server, through the proxy --------------------------------------------
    def server_url(self, path: str = "") -> str:
        return self.url(f"user/{escape(self.name)}/{path.lstrip('/')}")

    def server_get(self, path: str) -> requests.Response:
        """GET on the user's server; the first call follows the OAuth dance with the hub."""
        return self.session.get(self.server_url(path), timeout=30)

    def _server_xsrf(self) -> str:
        token = self.session.cookies.get("_xsrf", path=f"/user/{escape(self.name)}/")
        if not token:
            self.server_get("lab")  # the server sets its own _xsrf cookie on a page load
            token = self.session.cookies.get("_xsrf", path=f"/user/{escape(self.name)}/")
        if not token:
            raise HubError("the user's server set no _xsrf cookie")
        return token

    def put_notebook(self, path: str, source: str) -> requests.Response:
        notebook = {
            "type": "notebook",
            "format": "json",
            "content": {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    {
                        "cell_type": "code",
                        "id": "c1",
                        "metadata": {},
                        "source": source,
                        "outputs": [],
                        "execution_count": None,
                    }
                ],
            },
        }
        return self.session.put(
            self.server_url(f"api/contents/{path}"),
            json=notebook,
            headers={"X-XSRFToken": self._server_xsrf()},
            timeout=30,
        )

    def get_contents(self, path: str) -> requests.Response:
        return self.server_get(f"api/contents/{path}")

    def run_code(self, code: str, timeout: float = 60) -> str:
        """Start a kernel and execute `code` over its websocket, as JupyterLab does; the result."""
        headers = {"X-XSRFToken": self._server_xsrf()}
        started = self.session.post(
            self.server_url("api/kernels"), json={"name": "python3"}, headers=headers, timeout=60
        )
        if started.status_code != 201:
            raise HubError(f"starting a kernel: HTTP {started.status_code}: {started.text[:300]}")
        kernel = started.json()["id"]
        ws_url = "ws" + self.server_url(f"api/kernels/{kernel}/channels").removeprefix("http")
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        verify = self.session.verify
        sslopt: dict[str, Any] = {"ca_certs": verify} if isinstance(verify, str) else {}
        channel = websocket.create_connection(
            ws_url,
            cookie=cookie,
            header=[f"X-XSRFToken: {headers['X-XSRFToken']}"],
            origin=self.base_url.rstrip("/"),
            sslopt=sslopt,
            timeout=timeout,
        )
        try:
            msg_id = uuid.uuid4().hex
            channel.send(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "username": self.name,
                            "session": uuid.uuid4().hex,
                            "msg_type": "execute_request",
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "content": {
                            "code": code,
                            "silent": False,
                            "store_history": False,
                            "allow_stdin": False,
                        },
                        "channel": "shell",
                    }
                )
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = json.loads(channel.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if message["msg_type"] == "execute_result":
                    return str(message["content"]["data"]["text/plain"])
                if message["msg_type"] == "error":
                    raise HubError(f"kernel error: {message['content'].get('evalue')}")
            raise HubError(f"no result from the kernel within {timeout}s")
        finally:
            channel.close()
            self.session.delete(self.server_url(f"api/kernels/{kernel}"), headers=headers, timeout=30)

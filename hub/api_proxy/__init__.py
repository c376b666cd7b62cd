"""The Docker API proxy's rules (its entry point is hub/docker_api_proxy.py, which the stack
runs as `python3 -m hub.docker_api_proxy`): what a request may do, and the policy document the
program writes from the hub's settings."""

# Prepended to every script (components/scripts.py). The docker CLI calls reach the stack's
# host through its own client files, named relative to the project directory, the working
# directory pulumi-command runs scripts in; the docker CLI wants them absolute.
import os as _os

if _os.environ.get("JHUB_SSH_BIN"):  # an ssh:// host: the wrapper that applies the pinned config
    _os.environ["PATH"] = _os.path.abspath(_os.environ["JHUB_SSH_BIN"]) + _os.pathsep + _os.environ["PATH"]
if _os.environ.get("DOCKER_CERT_PATH"):  # a tcp:// host: the client TLS files
    _os.environ["DOCKER_CERT_PATH"] = _os.path.abspath(_os.environ["DOCKER_CERT_PATH"])

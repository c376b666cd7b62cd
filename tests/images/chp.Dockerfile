# Test stand-in for quay.io/jupyterhub/configurable-http-proxy: Debian's packaged proxy.
FROM local/debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      node-configurable-http-proxy \
 && rm -rf /var/lib/apt/lists/*
USER 65534
ENTRYPOINT ["configurable-http-proxy"]

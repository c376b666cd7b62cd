# Test stand-in for quay.io/jupyterhub/configurable-http-proxy (the program's default proxy image,
# which cannot be pulled here): the same npm package at the default's version, on this machine's
# Node.js (CHP 5 needs Node 20; Debian bookworm's is 18), on the Debian base. Upstream's image is
# the same package on node:alpine. scripts/test-env.sh `build_proxy_image` stages the context:
# `node` and `chp/`, an `npm install` of configurable-http-proxy without its dev dependencies.
FROM local/debian:bookworm
COPY node /usr/local/bin/node
COPY chp /opt/chp
ENV PATH=/opt/chp/node_modules/.bin:$PATH
USER 65534
ENTRYPOINT ["configurable-http-proxy"]

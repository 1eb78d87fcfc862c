# cronium/runner:bash for people who build with Docker; `cronium images build` makes the same
# image without a registry (mmdebstrap). Build from the repository's root:
#   docker build -f images/bash.Dockerfile -t cronium/runner:bash .
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bash ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && echo 'cronium:x:1000:1000:Cronium run:/work:/bin/bash' >> /etc/passwd \
 && echo 'cronium:x:1000:' >> /etc/group
COPY Helpers/python/cronium /opt/cronium/helpers/python/cronium
COPY Helpers/node/cronium /opt/cronium/helpers/node/cronium
COPY Helpers/bash/cronium.sh /opt/cronium/helpers/bash/cronium.sh
ENV PYTHONPATH=/opt/cronium/helpers/python NODE_PATH=/opt/cronium/helpers/node BASH_ENV=/opt/cronium/helpers/bash/cronium.sh LANG=C.UTF-8
WORKDIR /work
USER 1000:1000

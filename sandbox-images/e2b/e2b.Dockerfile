# E2B sandbox template with agentrt (and, by default, Claude Code). One stage: E2B's template
# builder takes a plain Debian-based Dockerfile. The compilers stay in the image, which agents
# in the sandbox can use; sandbox-images/docker/Dockerfile is the slim multi-stage variant.
#
#   e2b template build --path . --config sandbox-images/e2b/e2b.toml      # from the repo root
#
# Packages come from sandbox-images/install-deps.sh and CLIs from sandbox-images/harness-clis.sh,
# the same scripts CI runs (tests/images checks this).
FROM node:20-bookworm-slim

ARG HARNESS_CLIS="claude"
COPY . /opt/agentrt/src
RUN bash /opt/agentrt/src/sandbox-images/install-deps.sh build \
 && bash /opt/agentrt/src/sandbox-images/install-deps.sh runtime \
 && rm -rf /var/lib/apt/lists/* \
 && cmake -S /opt/agentrt/src -B /tmp/agentrt-build -DCMAKE_BUILD_TYPE=Release \
          -DAGENTRT_BUILD_TESTS=OFF -DAGENTRT_BUILD_SAMPLES=OFF \
 && cmake --build /tmp/agentrt-build -j"$(nproc)" --target agentrt \
 && install -m 0755 -s /tmp/agentrt-build/runtime/agentrt /usr/local/bin/agentrt \
 && install -m 0755 /opt/agentrt/src/sandbox-images/healthcheck.sh /opt/agentrt/healthcheck.sh \
 && rm -rf /tmp/agentrt-build
RUN mkdir -p /opt/agentrt-clis \
 && if [ -n "$HARNESS_CLIS" ]; then \
      bash /opt/agentrt/src/sandbox-images/harness-clis.sh install /opt/agentrt-clis $HARNESS_CLIS \
      && npm cache clean --force; \
    fi
ENV PATH=/opt/agentrt-clis/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

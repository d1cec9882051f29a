# E2B sandbox template with agentrt from the release tarball (no compiler) and, by default, Claude
# Code. One stage, and only the instructions E2B's V2 template builder converts (FROM, ARG, COPY,
# RUN, ENV, WORKDIR, USER): template.ts reads this file with Template().fromDockerfile(), and
# `e2b template create` does the same. Paths are relative to the repository root, the build
# context.
#
#   cd sandbox-images/e2b && npm install && AGENTRT_TOKEN=… npm run build     # build.ts
#
# Packages come from sandbox-images/install-deps.sh, the binaries from install-release.sh and the
# CLIs from harness-clis.sh, the scripts CI checks (tests/images). The tarball's version is the
# project version in CMakeLists.txt (tests/images checks that they agree).
FROM node:20.20.2-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
# The harness CLIs to install (sandbox-images/harness-clis.sh list); empty: none. Unquoted: E2B
# turns an ARG into an ENV step and would keep the quotes in the value.
ARG HARNESS_CLIS=claude

COPY dist/agentrt-0.1.0-linux-x86_64.tar.gz /tmp/agentrt-release/
COPY sandbox-images/install-deps.sh sandbox-images/install-release.sh sandbox-images/healthcheck.sh sandbox-images/harness-clis.sh /opt/agentrt/
# curl: E2B's waitForURL ready check runs it inside the sandbox.
RUN bash /opt/agentrt/install-deps.sh runtime \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git curl \
 && rm -rf /var/lib/apt/lists/* \
 && bash /opt/agentrt/install-release.sh /tmp/agentrt-release/agentrt-0.1.0-linux-x86_64.tar.gz /usr/local \
 && rm -rf /tmp/agentrt-release
# E2B keeps a template's ENV for its build only, so the CLIs are linked onto the default PATH
# instead of adding their directory to PATH.
RUN mkdir -p /opt/agentrt-clis \
 && if [ -n "$HARNESS_CLIS" ]; then \
      bash /opt/agentrt/harness-clis.sh install /opt/agentrt-clis $HARNESS_CLIS \
      && ln -s /opt/agentrt-clis/node_modules/.bin/* /usr/local/bin/ \
      && npm cache clean --force; \
    fi

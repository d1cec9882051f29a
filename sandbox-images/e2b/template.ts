// The agentrt E2B template, defined with E2B's V2 Template SDK: the image is e2b.Dockerfile
// (agentrt from the release tarball, no compiler), and the start command runs agentrt while the
// template is built; E2B waits until GET /health answers 200 and snapshots the sandbox with the
// runtime listening, so every sandbox of the template starts with agentrt already up.
//
// The snapshot also fixes the runtime's environment: AGENTRT_TOKEN is given at build time and is
// the one token of every sandbox of the template (E2B stores it with the template). Rebuild to
// rotate it. build.ts refuses to build without one, so no sandbox serves commands
// unauthenticated.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Template, waitForURL, type TemplateClass } from 'e2b'

export const PORT = 8080
export const TEMPLATE_NAME = 'agentrt'
export const WORKDIR = '/home/user'

/** The repository root: the build context of e2b.Dockerfile. AGENTRT_REPO overrides it. */
export function repoRoot(): string {
  return process.env.AGENTRT_REPO ?? path.resolve(__dirname, '..', '..')
}

/** What `e2b template create agentrt -p . -d sandbox-images/e2b/e2b.Dockerfile -c …
 * --ready-cmd …` builds. The token is set in the start command itself (`env AGENTRT_TOKEN=…`),
 * not with setEnvs: E2B documents a template's ENV as build-time only. */
export function agentrtTemplate(token: string): TemplateClass {
  // Plain token characters only, so the start command needs no quoting (openssl rand -hex 32).
  if (!/^[A-Za-z0-9._~+/=-]{16,}$/.test(token)) {
    throw new Error('agentrtTemplate: the token must be 16 or more of [A-Za-z0-9._~+/=-]')
  }
  const root = repoRoot()
  const dockerfilePath = path.join(root, 'sandbox-images', 'e2b', 'e2b.Dockerfile')
  const dockerfile = fs.readFileSync(dockerfilePath, 'utf-8')
  return Template({ fileContextPath: root })
    .fromDockerfile(dockerfile)
    .setStartCmd(
      `env AGENTRT_TOKEN=${token} /usr/local/bin/agentrt --host 0.0.0.0 --port ${PORT} ` +
        `--workdir ${WORKDIR}`,
      waitForURL(`http://127.0.0.1:${PORT}/health`),
    )
}

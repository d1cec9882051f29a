// Starts a sandbox of the agentrt template, waits for /health through E2B's TLS endpoint, runs
// commands in it with agentrt-client (wss://), and kills the sandbox:
//
//   cd sandbox-images/e2b && npm install
//   E2B_API_KEY=… AGENTRT_TOKEN=<the template's token> npm start -- 'uname -a' 'git --version'
//
// Needs agentrt-client on PATH (from the release tarball) or AGENTRT_CLIENT set.
import { spawnSync } from 'node:child_process'
import { Sandbox } from 'e2b'
import { PORT, TEMPLATE_NAME } from './template'

async function waitHealthy(url: string, timeoutMs = 60_000): Promise<{ version: string }> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/health`)
      if (response.ok) {
        const health = (await response.json()) as { status?: string; version?: string }
        if (health.status === 'ok') return { version: health.version ?? '?' }
      }
      last = `HTTP ${response.status}`
    } catch (error) {
      last = error // the endpoint answers 502 until the port is served
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`${url}/health did not answer in ${timeoutMs} ms: ${String(last)}`)
}

async function main(): Promise<number> {
  const token = process.env.AGENTRT_TOKEN
  if (!token) {
    console.error('set AGENTRT_TOKEN to the token the template was built with')
    return 64
  }
  const commands = process.argv.slice(2)
  if (commands.length === 0) commands.push('uname -a', 'id', 'git --version')
  const sandbox = await Sandbox.create(TEMPLATE_NAME, { timeoutMs: 30 * 60 * 1000 })
  try {
    const host = sandbox.getHost(PORT)
    const health = await waitHealthy(`https://${host}`)
    console.error(`agentrt ${health.version} is up in sandbox ${sandbox.sandboxId}`)
    const client = process.env.AGENTRT_CLIENT ?? 'agentrt-client'
    const run = spawnSync(client, ['exec', `wss://${host}/`, '--', ...commands], {
      stdio: 'inherit',
      env: { ...process.env, AGENTRT_TOKEN: token },
    })
    if (run.error) throw run.error
    return run.status ?? 1
  } finally {
    await sandbox.kill()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)

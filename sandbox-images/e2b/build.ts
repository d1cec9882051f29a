// Builds the agentrt E2B template with E2B's V2 build system (context: the repository root):
//
//   <release command>      # dist/agentrt-<version>-linux-x86_64.tar.gz (README, "Portable binary")
//   cd sandbox-images/e2b && npm install
//   E2B_API_KEY=… AGENTRT_TOKEN=$(openssl rand -hex 32) npm run build
//
// Keep AGENTRT_TOKEN: clients of every sandbox of this template need it.
import { Template, defaultBuildLogger } from 'e2b'
import { TEMPLATE_NAME, agentrtTemplate } from './template'

async function main(): Promise<void> {
  const token = process.env.AGENTRT_TOKEN
  if (!token) {
    console.error('set AGENTRT_TOKEN: the template runtime refuses no one without it')
    process.exit(64)
  }
  const info = await Template.build(agentrtTemplate(token), TEMPLATE_NAME, {
    cpuCount: 2,
    memoryMB: 2048,
    onBuildLogs: defaultBuildLogger(),
  })
  console.log(`built template ${info.name} (${info.templateId}, build ${info.buildId})`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})

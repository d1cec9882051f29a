#!/usr/bin/env node
// Runs a runtimeuse AgentHandler module (what `npx runtimeuse --handler my-handler.js` loads)
// as an agentrt custom handler, which is an executable speaking JSON lines:
//
//   RUNTIMEUSE_HANDLER_MODULE=/srv/my-handler.js \
//     agentrt --handler docs/examples/runtimeuse_handler_shim.mjs
//
// The module must be JavaScript Node can import (compile TypeScript first) and export the
// handler as default or as `handler`. See docs/migrating-from-runtimeuse.md.
import path from "node:path";
import { pathToFileURL } from "node:url";

// stdout carries the protocol; whatever the handler prints with console.log goes to stderr,
// which agentrt logs.
const stdout = process.stdout;
const emit = (line) => stdout.write(JSON.stringify(line) + "\n");
for (const name of ["log", "info", "debug"]) console[name] = console.error;

function fail(error) {
  emit({ type: "error", error, metadata: { shim: "runtimeuse_handler_shim" } });
  process.exitCode = 1;
}

async function readInvocation() {
  // agentrt writes one JSON line and closes stdin.
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

async function main() {
  const modulePath = process.env.RUNTIMEUSE_HANDLER_MODULE;
  if (!modulePath) return fail("RUNTIMEUSE_HANDLER_MODULE is not set");
  const mod = await import(pathToFileURL(path.resolve(modulePath)).href);
  const handler = mod.default?.run ? mod.default : mod.handler;
  if (!handler?.run) return fail(`${modulePath} exports no AgentHandler (default or "handler")`);

  const invocation = await readInvocation();
  // A cancel is SIGTERM to the process group: tell the handler, and leave soon even if it
  // does not stop (agentrt sends SIGKILL after its --kill-grace anyway).
  const abort = new AbortController();
  process.on("SIGTERM", () => {
    abort.abort();
    setTimeout(() => process.exit(143), 1000).unref();
  });

  const logger = { log: console.error, warn: console.error, error: console.error, debug: console.error };
  const sender = {
    sendAssistantMessage: (textBlocks) => emit({ type: "assistant", text_blocks: textBlocks }),
    sendErrorMessage: (error, metadata = {}) => emit({ type: "error", error, metadata }),
  };
  try {
    const result = await handler.run(
      {
        systemPrompt: invocation.system_prompt,
        userPrompt: invocation.user_prompt,
        model: invocation.model,
        outputFormat: invocation.output_format ?? undefined,
        secrets: invocation.secrets,
        env: invocation.env,
        signal: abort.signal,
        logger,
      },
      sender,
    );
    // runtimeuse before text results returned only { structuredOutput, metadata }.
    const data =
      result.type === "text"
        ? { type: "text", text: result.text }
        : { type: "structured_output", structured_output: result.structuredOutput };
    emit({ type: "result", data, metadata: result.metadata ?? {} });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
}

await main();

// A writer process for the event-log concurrency test (bundled by test/integration/event_log.test.ts with esbuild):
// `node append_events.cjs LOG WRITER COUNT GO` waits for the file GO, then appends COUNT events, one appendSync each.
import * as Fs from "node:fs"
import { appendSync } from "../../events/event_log.ts"

const [log, writer, count, go] = process.argv.slice(2) as [string, string, string, string]
const job = "01JAAAAAAAAAAAAAAAAAAAAAAA"

// tell the test this writer is loaded, then start with the others
Fs.writeFileSync(`${go}.ready.${writer}`, "")
const spin = new Int32Array(new SharedArrayBuffer(4))
while (!Fs.existsSync(go)) Atomics.wait(spin, 0, 0, 2)

for (let i = 0; i < Number(count); i++) {
  // lines of 100 bytes to ~5 KB: longer than a pipe buffer, so only O_APPEND keeps them whole
  const id = `${writer}-${i}-${"x".repeat((i % 50) * 100)}`
  const at = new Date().toISOString()
  appendSync(log, [
    i % 2 === 0
      ? { type: "StopRequested", v: 1, id, job, at, signal: "SIGTERM", graceSecs: 10 }
      : { type: "TimedOut", v: 1, id, job, at, timeoutSecs: i }
  ])
}

// 7. The dashboard over 10,000 finished jobs: the list page and GET /api/jobs, and the time from a line written
// to a job's output until it arrives over SSE, beside `tail -F`-style reading as the floor.

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import { ensureHome, realEvents } from "./generate.mjs"
import { BIN, capture, env, jobs, ms, NODE, sleep, stats, table, tempDir } from "./lib.mjs"

export const name = "dashboard"

const startServer = async (home) => {
  const child = ChildProcess.spawn(NODE, ["--", BIN, "serve", "--port", "0"], {
    env: env({ JOBS_HOME: home }),
    stdio: ["ignore", "pipe", "inherit"]
  })
  const line = await new Promise((resolve) => {
    let out = ""
    child.stdout.on("data", (d) => {
      out += String(d)
      if (out.includes("\n")) resolve(out)
    })
  })
  const url = new URL(/http:\/\/\S+/.exec(line)[0])
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${url.origin}/jobs`).catch(() => undefined)) !== undefined) break
    await sleep(25)
  }
  return { child, base: url.origin, token: url.searchParams.get("token") }
}

export const run = async ({ log }) => {
  const n = Number(process.env.BENCH_DASHBOARD_JOBS ?? 10000)
  const template = await realEvents()
  const { home } = await ensureHome(n, { log, template })
  const server = await startServer(home)
  const headers = { authorization: `Bearer ${server.token}` }
  try {
    const time = async (path) => {
      const samples = []
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now()
        const r = await fetch(`${server.base}${path}`, { headers })
        await r.arrayBuffer()
        samples.push(performance.now() - t0)
      }
      return stats(samples)
    }
    const page = await time("/jobs")
    const listApi = await time("/api/jobs?limit=50")
    const all = await time("/api/jobs?limit=0")

    // latency: a running job in a small home, one SSE reader, lines appended by this process
    const small = tempDir("jobs-bench-dash-home-")
    const sse = await startServer(small)
    const job = JSON.parse(capture(jobs("--json", "run", "--", "sleep", "600"), { env: env({ JOBS_HOME: small }) }))
    const logPath = job.logPath
    const controller = new AbortController()
    const r = await fetch(`${sse.base}/api/jobs/${job.id}/stream`, {
      headers: { authorization: `Bearer ${sse.token}` },
      signal: controller.signal
    })
    const reader = r.body.getReader()
    const latencies = []
    let buffer = ""
    await sleep(300)
    for (let i = 0; i < 30; i++) {
      const marker = `mark-${i}-${Date.now()}`
      const t0 = performance.now()
      Fs.appendFileSync(logPath, `${marker}\n`)
      while (!buffer.includes(marker)) {
        const { value } = await reader.read()
        buffer += new TextDecoder().decode(value)
      }
      latencies.push(performance.now() - t0)
      buffer = ""
      await sleep(20 + Math.random() * 40)
    }
    controller.abort()
    capture(jobs("stop", job.id, "--grace", "1s"), { env: env({ JOBS_HOME: small }), allowFail: true })
    sse.child.kill()
    const lat = stats(latencies)
    return [
      "## Dashboard",
      "",
      `A home of ${n.toLocaleString("en")} finished jobs; 10 requests each after the server started (median, p90). ` +
        "SSE latency: a line appended to a running job's output until it arrives on `/api/jobs/ID/stream`, 30 samples.",
      "",
      table(
        ["request", "median ms", "p90 ms"],
        [
          ["`GET /jobs` (the list page, 50 rows)", ms(page.median), ms(page.p90)],
          ["`GET /api/jobs?limit=50`", ms(listApi.median), ms(listApi.p90)],
          [`\`GET /api/jobs?limit=0\` (all ${n.toLocaleString("en")})`, ms(all.median), ms(all.p90)],
          ["a line written → shown over SSE", ms(lat.median), ms(lat.p90)]
        ]
      )
    ].join("\n")
  } finally {
    server.child.kill()
  }
}

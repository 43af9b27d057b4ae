// The dashboard (`jobs serve`) over real HTTP, and in real headless Chromium (Debian's chromium driven by
// playwright-core): every API route, the token and same-origin rules, escaping, live logs and live lists.
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, json } from "../support/cli.ts"
import { eventsPath, jobDirs, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
const home = tmp.home()
let server: Served | undefined
let base = ""
let token = ""
const CHROMIUM = "/usr/bin/chromium"
const hasChromium = Fs.existsSync(CHROMIUM)
if (!hasChromium && process.env.CI === undefined)
  console.warn("SKIPPING browser tests: install chromium (apt-get install chromium)")
const shots = Path.resolve(import.meta.dirname, "../../test-output/screenshots")

/** A `jobs serve` of its own: its process, its origin and the token from the URL it printed once listening. */
interface Served {
  readonly child: ChildProcess.ChildProcess
  readonly base: string
  readonly token: string
}
const serveEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, JOBS_HOME: home, ...extra }
  delete env.NODE_EXTRA_CA_CERTS
  if (extra.JOBS_TOKEN === undefined) delete env.JOBS_TOKEN
  return env
}
const startServe = async (args: ReadonlyArray<string>, extra: Record<string, string> = {}): Promise<Served> => {
  const child = ChildProcess.spawn(process.execPath, ["--", BIN, "serve", ...args], {
    env: serveEnv(extra),
    stdio: ["ignore", "pipe", "pipe"]
  })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (d) => {
      out += String(d)
      if (out.includes("\n")) resolve(out)
    })
    child.on("exit", (code) => reject(new Error(`jobs serve exited with ${code}`)))
  })
  const url = new URL(/http:\/\/\S+/.exec(line)![0])
  return { child, base: url.origin, token: url.searchParams.get("token")! }
}
/** Runs `jobs serve ARGS` that should refuse to start; stops it if it serves after all (the old behaviour). */
const serveRefused = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = ChildProcess.spawn(process.execPath, ["--", BIN, "serve", ...args], {
      env: serveEnv(extra),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += String(d)))
    child.stderr.on("data", (d) => (stderr += String(d)))
    const guard = setTimeout(() => child.kill(), 20_000)
    child.on("close", (code) => {
      clearTimeout(guard)
      resolve({ code, stdout, stderr })
    })
  })

beforeAll(async () => {
  server = await startServe(["--port", "0"])
  base = server.base
  token = server.token
  // the URL is printed once the server listens: the first request is answered
  expect((await fetch(`${base}/jobs`)).status).toBe(401)
})
/** Polls an async condition (eventually() is for synchronous ones). */
const until = async (f: () => Promise<boolean>, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

afterAll(() => {
  server?.child.kill()
  tmp.cleanup()
})

const api = (path: string, init: RequestInit = {}): Promise<Response> => {
  const send = () =>
    fetch(`${base}${path}`, {
      ...init,
      redirect: "manual",
      headers: { authorization: `Bearer ${token}`, ...init.headers }
    })
  // a GET once more when the kept-alive connection had been closed by the server while this process sat in a
  // spawnSync (the close was not seen yet); a change is never sent twice
  return send().catch((e: { cause?: { code?: string } }) =>
    (init.method ?? "GET") === "GET" && e.cause?.code === "UND_ERR_SOCKET" ? send() : Promise.reject(e)
  )
}
const run = (args: ReadonlyArray<string>) =>
  json<{ id: string; shortId: string }>(jobs(["run", "--json", ...args], { home }))

describe("jobs serve: the API over HTTP", () => {
  it("needs the token, and trades the URL's token for a cookie", async () => {
    expect((await fetch(`${base}/api/jobs`)).status).toBe(401)
    expect((await fetch(`${base}/api/jobs`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401)
    const first = await fetch(`${base}/jobs?token=${token}`, { redirect: "manual" })
    expect(first.status).toBe(303)
    expect(first.headers.get("location")).toBe("/jobs")
    const cookie = first.headers.get("set-cookie")!
    expect(cookie).toMatch(
      new RegExp(`^jobs_token_${new URL(base).port}=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/`)
    )
    // the cookie stands for the token without being it: a cookie jar never holds the long-lived secret
    expect(cookie).not.toContain(token)
    const withCookie = await fetch(`${base}/jobs`, { headers: { cookie: cookie.split(";")[0]! } })
    expect(withCookie.status).toBe(200)
    // a cookie-authenticated change from another origin is refused (CSRF)
    const job = run(["--", "sleep", "30"])
    const forged = await fetch(`${base}/api/jobs/${job.id}/cancel`, {
      method: "POST",
      headers: { cookie: cookie.split(";")[0]!, origin: "http://evil.example" }
    })
    expect(forged.status).toBe(403)
    expect(json<{ status: string }>(jobs(["status", job.id, "--json"], { home })).status).toBe("running")
    jobs(["stop", job.id, "--grace", "1s"], { home })
  })

  it("answers every route: list, one job, logs, cancel, rerun, submit, 404 and 400", async () => {
    const job = run(["--name", "api", "--", "sh", "-c", "echo one; echo two; echo three"])
    jobs(["wait", job.id], { home })
    const list = (await (await api("/api/jobs?status=completed&limit=5")).json()) as Array<{
      id: string
      status: string
    }>
    expect(Array.isArray(list)).toBe(true)
    expect(list.map((j) => j.id)).toContain(job.id)
    expect(list.every((j) => j.status === "completed")).toBe(true)
    expect(((await (await api(`/api/jobs/${job.shortId}`)).json()) as { id: string }).id).toBe(job.id)
    expect(await (await api(`/api/jobs/${job.id}/logs?tail=2`)).text()).toBe("two\nthree\n")
    const unknown = await api("/api/jobs/nosuchjob")
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: string }).error).toMatch(/^Cannot find job "nosuchjob"/)
    const ended = await api(`/api/jobs/${job.id}/cancel`, { method: "POST" })
    expect(ended.status).toBe(400)
    expect(((await ended.json()) as { error: string }).error).toMatch(/already ended/)
    const rerun = await api(`/api/jobs/${job.id}/rerun`, { method: "POST" })
    expect(rerun.status).toBe(201)
    const again = (await rerun.json()) as { id: string; retryOf: string }
    expect(again.retryOf).toBe(job.id)
    const formRerun = await api(`/api/jobs/${job.id}/rerun`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: ""
    })
    expect(formRerun.status).toBe(303)
    expect(formRerun.headers.get("location")).toMatch(/^\/jobs\/[0-9A-Z]{26}$/)
    const created = await api("/api/jobs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: ["sh", "-c", "sleep 30"], name: "from-api" })
    })
    expect(created.status).toBe(201)
    const running = (await created.json()) as { id: string; name: string }
    expect(running.name).toBe("from-api")
    await eventually(() =>
      json<{ status: string }>(jobs(["status", running.id, "--json"], { home })).status === "running" ? true : undefined
    )
    const cancel = await api(`/api/jobs/${running.id}/cancel`, { method: "POST" })
    expect(cancel.status).toBe(200)
    expect(((await cancel.json()) as { status: string }).status).toBe("stopped")
    const bad = await api("/api/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
    expect(bad.status).toBe(400)
    expect((await api("/stats")).status).toBe(200)
    expect((await api("/nothing-here")).status).toBe(404)
  })

  it("streams a job's events and output over SSE, and resumes from Last-Event-ID", async () => {
    const job = run(["--", "sh", "-c", "echo alpha; sleep 0.3; echo beta"])
    const read = async (headers: Record<string, string> = {}) => {
      const r = await api(`/api/jobs/${job.id}/stream`, { headers })
      expect(r.headers.get("content-type")).toMatch(/^text\/event-stream/)
      return await r.text()
    }
    const all = await read()
    expect(all).toMatch(/event: output\ndata: "alpha\\n"/)
    expect(all).toMatch(/event: output\ndata: "beta\\n"/)
    expect(all).toMatch(/"type":"Exited"/)
    expect(all.trimEnd().endsWith("event: end\ndata: {}")).toBe(true)
    // resume after the first output message: only what came after it
    const firstOutputId = /id: (\S+)\nevent: output\ndata: "alpha/.exec(all)![1]!
    const rest = await read({ "last-event-id": firstOutputId })
    expect(rest).not.toMatch(/alpha/)
    expect(rest).toMatch(/beta/)
    expect(rest).not.toMatch(/"type":"Submitted"/)
  })

  it("streams a capped job's output as `logs -f` does: the head, the marker, then the latest output", async () => {
    // 101-byte lines, slowly: the 4 KiB head is full after ~40 of them, and the stream is open before that
    const job = run([
      "--max-log-size",
      "4K",
      "--",
      "sh",
      "-c",
      'i=0; while [ $i -lt 100 ]; do printf "line %05d %090d\\n" $i 0; i=$((i+1)); sleep 0.02; done'
    ])
    const r = await api(`/api/jobs/${job.id}/stream`)
    const text = await r.text()
    const messages = [...text.matchAll(/id: (\S+)\nevent: output\ndata: (.*)\n/g)].map((m) => ({
      id: m[1]!,
      text: JSON.parse(m[2]!) as string
    }))
    const streamed = messages.map((m) => m.text).join("")
    const whole = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(5, "0")} ${"0".repeat(90)}\n`).join(
      ""
    )
    // a reader that kept up sees every byte; one that fell behind the pieces kept, the head, the marker, the rest
    const marker = /\n\[jobs: \d+ bytes skipped\]\n/.exec(streamed)
    if (marker === null) expect(streamed).toBe(whole)
    else {
      expect(streamed.slice(0, marker.index)).toBe(whole.slice(0, 4096))
      expect(whole.endsWith(streamed.slice(marker.index + marker[0].length))).toBe(true)
    }
    expect(streamed.endsWith(`line 00099 ${"0".repeat(90)}\n`)).toBe(true)
    // resumed from a message past the head: only what came after it, never the head again
    const resumeAt = messages.slice(0, -1).find((m) => m.id.includes(":"))!.id
    const rest = await (await api(`/api/jobs/${job.id}/stream`, { headers: { "last-event-id": resumeAt } })).text()
    const restText = [...rest.matchAll(/event: output\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!) as string).join("")
    expect(restText).not.toMatch(/line 00000 /)
    expect(restText.endsWith(`line 00099 ${"0".repeat(90)}\n`)).toBe(true)
    // the page shows the latest output, and its live stream goes on from there: nothing shown twice
    const page = await (await api(`/jobs/${job.id}`)).text()
    expect(page).toMatch(/line 00099 /)
    const from = /data-output="([^"]*)"/.exec(page)![1]!
    expect(from).toMatch(/^\d+:\d+$/)
    const after = await (await api(`/api/jobs/${job.id}/stream?output=${from}`)).text()
    expect(after).not.toMatch(/event: output/)
  }, 60_000)

  it("streams every job's events on /api/events", async () => {
    const controller = new AbortController()
    const r = await api("/api/events", { signal: controller.signal })
    const reader = r.body!.getReader()
    let text = ""
    const job = run(["--", "true"])
    await until(async () => {
      const { value } = await reader.read()
      text += new TextDecoder().decode(value)
      return text.includes(job.id)
    }, "the new job on /api/events")
    controller.abort()
  })
  it("gives each /api/events message its feed cursor as id, and resumes after Last-Event-ID", async () => {
    const open = async (headers: Record<string, string>) => {
      const controller = new AbortController()
      const r = await api("/api/events", { signal: controller.signal, headers })
      const reader = r.body!.getReader()
      const stream = { text: "", close: () => controller.abort() }
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read()
          if (done) break
          stream.text += new TextDecoder().decode(value)
        }
      })().catch(() => undefined)
      return stream
    }
    const first = await open({})
    // the feed starts at now: probes until one shows it follows
    const probes: Array<string> = []
    let probed = 0
    await eventually(
      () => {
        if (Date.now() - probed > 2000 && probes.length < 20) {
          probed = Date.now()
          probes.push(run(["--", "true"]).id)
        }
        return probes.some((p) => first.text.includes(`"${p}.exited"`)) ? true : undefined
      },
      60_000,
      "a probe job on /api/events"
    )
    const job = run(["--", "sh", "-c", "exit 5"])
    await eventually(() => (first.text.includes(`"${job.id}.exited"`) ? true : undefined), 30_000, "the job's end")
    first.close()
    const submitted = new RegExp(`id: (\\S+)\nevent: event\ndata: \\{"type":"Submitted"[^\n]*"job":"${job.id}"`).exec(
      first.text
    )
    expect(submitted, first.text).not.toBeNull()
    const rest = await open({ "last-event-id": submitted![1]! })
    await eventually(() => (rest.text.includes(`"${job.id}.exited"`) ? true : undefined), 30_000, "the rest")
    rest.close()
    expect(rest.text).toContain(`"${job.id}.started"`)
    expect(rest.text).not.toMatch(new RegExp(`"type":"Submitted"[^\n]*"job":"${job.id}"`))
  }, 120_000)
})

const jobCount = () => jobDirs(home).length
const COOKIE_FLAGS = /; HttpOnly; SameSite=Strict; Path=\/$/

describe("jobs serve: what it sends is what it encoded", () => {
  it("sends the security headers on every answer, and output only as text/plain from the API", async () => {
    const job = run(["--", "sh", "-c", "echo '<script>window.__pwned=1</script>'"])
    jobs(["wait", job.id], { home })
    for (const [path, auth] of [
      ["/jobs", true],
      [`/jobs/${job.id}`, true],
      ["/new", true],
      ["/stats", true],
      [`/api/jobs/${job.id}`, true],
      ["/nothing-here", true],
      ["/jobs", false]
    ] as const) {
      const r = auth ? await api(path) : await fetch(`${base}${path}`)
      expect(r.headers.get("content-security-policy"), path).toBe(
        "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; " +
          "frame-ancestors 'none'; form-action 'self'"
      )
      expect(r.headers.get("x-content-type-options"), path).toBe("nosniff")
      expect(r.headers.get("referrer-policy"), path).toBe("no-referrer")
    }
    const logs = await api(`/api/jobs/${job.id}/logs`)
    expect(logs.headers.get("content-type")).toBe("text/plain; charset=utf-8")
    expect(await logs.text()).toBe("<script>window.__pwned=1</script>\n")
    // the HTML side has no alias of the output (nor of the stream)
    expect((await api(`/jobs/${job.id}/logs`)).status).toBe(404)
    expect((await api(`/jobs/${job.id}/stream`)).status).toBe(404)
    // pages carry no inline script or style: the code comes from the dashboard's own files
    const page = await (await api(`/jobs/${job.id}`)).text()
    expect(page).not.toMatch(/<script>|<script [^>]*>[^<]|<style|style=|\son[a-z]+=/i)
    expect(page).toContain('<script src="/static/app.js"></script>')
    const script = await api("/static/app.js")
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    expect(await script.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
    expect((await api("/static/style.css")).headers.get("content-type")).toBe("text/css; charset=utf-8")
  })

  it("forwards on /api/events only events it decoded, re-encoded, of the job whose log they are in", async () => {
    const job = run(["--", "sleep", "30"])
    const controller = new AbortController()
    const r = await api("/api/events", { signal: controller.signal })
    const reader = r.body!.getReader()
    let text = ""
    const readUntil = (what: string) =>
      until(async () => {
        const { value } = await reader.read()
        text += new TextDecoder().decode(value)
        return text.includes(what)
      }, `${what} on /api/events`)
    // the feed starts at the end of every log once it watches: a job started now shows it does
    const ready = run(["--", "true"])
    await readUntil(ready.id)
    const at = new Date().toISOString()
    Fs.appendFileSync(
      eventsPath(home, job.id),
      [
        "this is not an event <script>",
        JSON.stringify({ v: 1, type: "HookRan", id: "other", job: ready.id, at, hook: "x", exitCode: 0 }),
        `{ "extra": "<script>", "type": "HookRan", "v": 1, "id": "forged", "job": "${job.id}", "at": "${at}", "hook": "job", "exitCode": 0 }`,
        JSON.stringify({ v: 1, type: "HookRan", id: "last", job: job.id, at, hook: "job", exitCode: 0 })
      ].join("\n") + "\n"
    )
    await readUntil('"last"')
    controller.abort()
    const data = text
      .split("\n")
      .filter((l) => l.startsWith("data: ") && l.includes('"HookRan"'))
      .map((l) => l.slice(6))
    expect(data).toEqual([
      JSON.stringify({ type: "HookRan", v: 1, id: "forged", job: job.id, at, hook: "job", exitCode: 0 }),
      JSON.stringify({ type: "HookRan", v: 1, id: "last", job: job.id, at, hook: "job", exitCode: 0 })
    ])
    expect(text).not.toContain("not an event")
    // the job's own stream keeps the same rule
    jobs(["stop", job.id, "--grace", "1s"], { home })
    const all = await (await api(`/api/jobs/${job.id}/stream`)).text()
    expect(all).toContain('"forged"')
    expect(all).not.toContain("<script>")
    expect(all).not.toContain('"other"')
  })
})

describe("jobs serve: tokens stay secret and strong", () => {
  it("--open opens a single-use code, never the token, and swaps it for the cookie once", async () => {
    const bin = tmp.dir()
    const opened = Path.join(bin, "opened")
    Fs.writeFileSync(Path.join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${opened}'\n`, { mode: 0o755 })
    const served = await startServe(["--port", "0", "--open"], { PATH: `${bin}:${process.env.PATH}` })
    try {
      const url = await eventually(() => (Fs.existsSync(opened) ? Fs.readFileSync(opened, "utf8").trim() : undefined))
      expect(url).not.toContain(served.token)
      expect(url).not.toMatch(/token/)
      expect(url.startsWith(`${served.base}/`)).toBe(true)
      const first = await fetch(url, { redirect: "manual" })
      expect(first.status).toBe(303)
      expect(first.headers.get("location")).toBe("/jobs")
      const cookie = first.headers.get("set-cookie")!
      expect(cookie).toMatch(COOKIE_FLAGS)
      expect(cookie).not.toContain(served.token)
      expect((await fetch(`${served.base}/jobs`, { headers: { cookie: cookie.split(";")[0]! } })).status).toBe(200)
      // the code is forgotten once used: whoever read it from /proc afterwards gets nothing
      const second = await fetch(url, { redirect: "manual" })
      expect(second.status).toBe(401)
      expect(second.headers.get("set-cookie")).toBeNull()
    } finally {
      served.child.kill()
    }
  })

  it("refuses a weak token on a non-loopback address, in one line that says how to make one", async () => {
    for (const weak of ["x", "a".repeat(40), "0123456789abcdef", "abababababababababababababababab"]) {
      const r = await serveRefused(["--host", "0.0.0.0", "--port", "0", "--token", weak])
      expect(r.code, weak).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(/^Cannot serve on "0\.0\.0\.0": .*openssl rand -hex 16.*\n$/)
      expect(r.stderr.split("\n")).toHaveLength(2)
    }
    const fromEnv = await serveRefused(["--host", "0.0.0.0", "--port", "0"], { JOBS_TOKEN: "hunter2hunter2hunter2" })
    expect(fromEnv.code).toBe(2)
    const strong = Crypto.randomBytes(16).toString("hex")
    const served = await startServe(["--host", "0.0.0.0", "--port", "0", "--token", strong])
    try {
      const port = new URL(served.base).port
      const r = await fetch(`http://127.0.0.1:${port}/api/jobs`, { headers: { authorization: `Bearer ${strong}` } })
      expect(r.status).toBe(200)
      // a token of another length, or a prefix of the right one, is refused
      for (const wrong of [strong.slice(0, 31), `${strong}0`, strong.toUpperCase()])
        expect(
          (await fetch(`http://127.0.0.1:${port}/api/jobs`, { headers: { authorization: `Bearer ${wrong}` } })).status
        ).toBe(401)
    } finally {
      served.child.kill()
    }
  })

  it("sends the ?token= login only to a path of its own origin", async () => {
    // sent as they are (fetch would normalise the path first, as a browser does; a crafted link need not)
    const login = (path: string) =>
      new Promise<Http.IncomingMessage>((resolve, reject) =>
        Http.get({ host: "127.0.0.1", port: new URL(base).port, path }, (r) => resolve(r.resume()))
          .on("error", reject)
          .end()
      )
    for (const path of [
      "/.//evil.example/",
      "/x/..//evil.example/jobs",
      "/%2e//evil.example",
      "/\\evil.example",
      "//evil.example/"
    ]) {
      const r = await login(`${path}?token=${token}`)
      expect(r.statusCode, path).toBe(303)
      const location = r.headers.location!
      expect(location, path).toMatch(/^\/(?![/\\])/)
      expect(new URL(location, base).origin, path).toBe(base)
    }
    const good = await login(`/jobs?status=running&token=${token}`)
    expect(good.headers.location).toBe("/jobs?status=running")
  })

  it("refuses a change from another origin even with the cookie", async () => {
    const login = await fetch(`${base}/jobs?token=${token}`, { redirect: "manual" })
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!
    const before = jobCount()
    const body = JSON.stringify({ command: ["true"], name: "forged" })
    for (const headers of [
      { origin: "http://evil.example" },
      { origin: "null" },
      { origin: base, "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      {}
    ] as Array<Record<string, string>>) {
      const r = await fetch(`${base}/api/jobs`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, "content-type": "application/json", ...headers },
        body
      })
      expect(r.status, JSON.stringify(headers)).toBe(403)
    }
    expect(jobCount()).toBe(before)
    // the dashboard's own form (same origin) still works
    const ok = await fetch(`${base}/api/jobs`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie, "content-type": "application/json", origin: base, "sec-fetch-site": "same-origin" },
      body: JSON.stringify({ command: ["true"], name: "same-origin" })
    })
    expect(ok.status).toBe(201)
  })

  it("says in one line that the port is taken, exits 1 and prints no URL", async () => {
    const taken = Net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as Net.AddressInfo).port
    try {
      const r = await serveRefused(["--port", String(port)])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(new RegExp(`^Cannot serve on 127\\.0\\.0\\.1:${port}: the address is in use.*\\n$`))
      expect(r.stderr.split("\n")).toHaveLength(2)
    } finally {
      taken.close()
    }
  })
})

/** Waits until an element's text contains `text` (a function: the pages' CSP forbids the eval of a string one). */
const shows = (page: Page, id: string, text: string) =>
  page.waitForFunction(
    ([id, text]) => ((globalThis as any).document.getElementById(id).textContent as string).includes(text),
    [id, text] as const,
    { timeout: 20_000 }
  )

describe.skipIf(!hasChromium && process.env.CI === undefined)("jobs serve in headless Chromium", () => {
  let browser: Browser
  beforeAll(async () => {
    Fs.mkdirSync(shots, { recursive: true })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
  })
  afterAll(async () => {
    await browser?.close()
  })

  it("submits from the form, shows the lines live, stops the job, and updates the status without a reload", async () => {
    const page = await browser.newPage()
    await page.goto(`${base}/new?token=${token}`)
    await page.fill("input[name=command]", "for i in 1 2 3 4 5 6 7 8; do echo line-$i; sleep 0.3; done; sleep 60")
    await page.fill("input[name=name]", "from-the-form")
    await page.click("form button")
    await page.waitForURL(/\/jobs\/[0-9A-Z]{26}$/)
    await shows(page, "log", "line-3")
    await page.screenshot({ path: Path.join(shots, "job.png"), fullPage: true })
    page.on("dialog", (d) => void d.accept())
    const url = page.url()
    await page.click("form[action$='/cancel'] button")
    await page.waitForURL(url)
    await shows(page, "spec-status", "stopped")
    await page.close()
  })

  it("follows a capped job's latest output live on its page, once past the head and when opened past it", async () => {
    const script =
      'i=0; while [ $i -lt 150 ]; do printf "line %05d %090d\\n" $i 0; i=$((i+1)); sleep 0.02; done; sleep 60'
    const job = run(["--max-log-size", "4K", "--", "sh", "-c", script])
    const page = await browser.newPage()
    await page.goto(`${base}/jobs/${job.id}?token=${token}`)
    await shows(page, "log", "line 00149 ")
    // opened again past the head: the latest output once, then whatever comes
    const again = await browser.newPage()
    await again.goto(`${base}/jobs/${job.id}?token=${token}`)
    const text = (await again.textContent("#log")) ?? ""
    expect(text.split("line 00149 ")).toHaveLength(2)
    jobs(["stop", job.id], { home })
    await page.close()
    await again.close()
  }, 60_000)

  it("shows a job started from the CLI in an open list page, and a job named <script> as text", async () => {
    const page = await browser.newPage()
    const alerts: Array<string> = []
    page.on("dialog", (d) => {
      alerts.push(d.message())
      void d.dismiss()
    })
    await page.goto(`${base}/jobs?token=${token}`)
    const job = run(["--name", "<script>alert(1)</script>", "--", "echo", "xss"])
    await page.waitForSelector(`#job-${job.id}`, { timeout: 15_000 })
    const name = await page.textContent(`#job-${job.id} td:nth-child(2)`)
    expect(name).toBe("<script>alert(1)</script>")
    await page.screenshot({ path: Path.join(shots, "list.png"), fullPage: true })
    await page.goto(`${base}/jobs/${job.id}`)
    await page.goto(`${base}/stats`)
    await page.screenshot({ path: Path.join(shots, "stats.png"), fullPage: true })
    expect(alerts).toEqual([])
    await page.close()
  })

  it("shows HTML and script in every field as text, a forged event included: no script runs, no job is made", async () => {
    const dir = tmp.dir()
    const marker = Path.join(dir, "pwned")
    // what a job's own code could put in its output or, through a worker's mirror, in its log: script that, once in
    // the dashboard's origin, would start a command on this machine
    const attack =
      `<img src=x onerror="window.__pwned=1;fetch('/api/jobs',{method:'POST',` +
      `headers:{'content-type':'application/json'},body:JSON.stringify({command:['touch','${marker}']})})">`
    const img = "<img src=x onerror=window.__pwned=2>"
    const closer = "</script><script>window.__pwned=3</script>"
    const payload = Path.join(dir, "payload.txt")
    Fs.writeFileSync(payload, `${attack}\n${closer}\n`)
    const go = Path.join(dir, "go")
    const running = Path.join(dir, "running")
    const cwd = Path.join(dir, "<svg onload=window.__pwned=4>")
    Fs.mkdirSync(cwd)
    const name = `${img}${closer}`
    const job = json<{ id: string; eventsPath: string }>(
      jobs(
        [
          "run",
          "--json",
          "--name",
          name,
          "--",
          "sh",
          "-c",
          ': >"$3"; while [ ! -e "$2" ]; do sleep 0.1; done; cat "$1"; sleep 60',
          img,
          payload,
          go,
          running
        ],
        { home, cwd }
      )
    )
    // a name no shell would take, planted once the command runs (so once its shell has read the file: Started is
    // written before that, and a line no shell takes, read by the command's shell, would stop it ever running)
    await started(home, job.id)
    await eventually(() => (Fs.existsSync(running) ? true : undefined), 45_000, "the job's command to run")
    const envName = "</script><script>window.__pwned++</script>"
    Fs.appendFileSync(Path.join(Path.dirname(job.eventsPath), "env"), `export ${envName}='v'\n`)
    const forged = (fields: Record<string, unknown>) =>
      Fs.appendFileSync(
        job.eventsPath,
        JSON.stringify({ v: 1, type: "HookRan", id: Crypto.randomUUID(), hook: closer, exitCode: 0, ...fields }) + "\n"
      )
    const forgedAt = "<img src=x onerror=window.__pwned=5>"
    forged({ job: job.id, at: forgedAt })
    const before = jobCount()

    const page = await browser.newPage()
    const problems: Array<string> = []
    page.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`)
      void d.dismiss()
    })
    page.on("pageerror", (e) => problems.push(`error: ${e.message}`))
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/.test(m.text())) problems.push(`csp: ${m.text()}`)
    })
    const noActiveContent = () =>
      page.evaluate(`({
        inline: document.querySelectorAll("script:not([src]), style, [style]").length,
        handlers: [...document.querySelectorAll("*")].flatMap((e) =>
          [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)
        ),
        images: document.querySelectorAll("img, svg:not([role=img])").length
      })`)
    // the list: the payloads are text, and a forged event that names a path instead of a job id fetches nothing
    const list = await page.goto(`${base}/jobs?token=${token}`)
    expect(list!.headers()["content-security-policy"]).toMatch(/script-src 'self'/)
    await page.waitForSelector(`#job-${job.id}`)
    expect(await page.textContent(`#job-${job.id} td:nth-child(2)`)).toBe(name)
    expect(await page.textContent(`#job-${job.id} td:nth-child(4)`)).toContain(img)
    // once a job started now shows, the page follows the feed
    const ready = run(["--name", "feed-ready", "--", "true"])
    await page.waitForSelector(`#job-${ready.id}`, { timeout: 15_000 })
    Fs.writeFileSync(go, "")
    const output = Path.join(Path.dirname(job.eventsPath), "output.log")
    await eventually(
      () => (Fs.readFileSync(output, "utf8").includes(closer) ? true : undefined),
      45_000,
      "the payload in the job's output"
    )
    forged({ job: `../api/jobs/${job.id}/logs?x=`, at: new Date().toISOString() })
    forged({ job: job.id, at: new Date().toISOString() })
    // a job started after the forged lines shows the feed got past them
    const after = run(["--name", "after-the-forged-lines", "--", "true"])
    await page.waitForSelector(`#job-${after.id}`, { timeout: 15_000 })
    await page.waitForTimeout(1000)
    expect(await page.evaluate("window.__pwned")).toBeUndefined()
    expect(await page.textContent(`#job-${job.id} td:nth-child(2)`)).toBe(name)
    expect(await noActiveContent()).toEqual({ inline: 0, handlers: [], images: 0 })

    // the job page: spec, environment names, output and timeline as text; then the same live
    const one = await page.goto(`${base}/jobs/${job.id}`)
    expect(one!.headers()["content-security-policy"]).toMatch(/default-src 'self'/)
    expect(one!.headers()["x-content-type-options"]).toBe("nosniff")
    expect(await page.title()).toContain(name)
    expect(await page.textContent("#spec-command")).toContain(img)
    expect(await page.textContent("#spec-cwd")).toBe(cwd)
    expect((await page.textContent("#spec-environment"))!.split(" ")).toContain(envName)
    await shows(page, "log", attack)
    expect(await page.textContent("#timeline")).toContain(forgedAt)
    const liveAt = "<img src=x onerror=window.__pwned=6>"
    forged({ job: job.id, at: liveAt })
    Fs.appendFileSync(output, `${img}${closer}\n`)
    await shows(page, "timeline", liveAt)
    await shows(page, "log", `${img}${closer}`)
    await page.waitForTimeout(1000)
    expect(await page.evaluate("window.__pwned")).toBeUndefined()
    expect(await noActiveContent()).toEqual({ inline: 0, handlers: [], images: 0 })
    await page.goto(`${base}/stats`)
    expect(await noActiveContent()).toMatchObject({ inline: 0, handlers: [] })
    await page.goto(`${base}/new`)
    expect(await noActiveContent()).toMatchObject({ inline: 0, handlers: [] })

    expect(problems).toEqual([])
    // nothing ran: no job was made (the two started above aside) and the command never touched its file
    expect(jobCount()).toBe(before + 2)
    expect(Fs.existsSync(marker)).toBe(false)
    jobs(["stop", job.id, "--grace", "1s"], { home })
    await page.close()
  })
})

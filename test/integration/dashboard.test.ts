// The dashboard (`jobs serve`) over real HTTP, and in real headless Chromium (Debian's chromium driven by
// playwright-core): every API route, the token and same-origin rules, escaping, live logs and live lists.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, eventually, jobs, json } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"

const tmp = scratch()
const home = tmp.home()
let server: ChildProcess.ChildProcess | undefined
let base = ""
let token = ""
const CHROMIUM = "/usr/bin/chromium"
const hasChromium = Fs.existsSync(CHROMIUM)
if (!hasChromium && process.env.CI === undefined)
  console.warn("SKIPPING browser tests: install chromium (apt-get install chromium)")
const shots = Path.resolve(import.meta.dirname, "../../test-output/screenshots")

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, JOBS_HOME: home }
  delete env.NODE_EXTRA_CA_CERTS
  delete env.JOBS_TOKEN
  server = ChildProcess.spawn(process.execPath, ["--", BIN, "serve", "--port", "0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ""
    server!.stdout!.on("data", (d) => {
      out += String(d)
      if (out.includes("\n")) resolve(out)
    })
    server!.on("exit", (code) => reject(new Error(`jobs serve exited with ${code}`)))
  })
  const url = new URL(/http:\/\/\S+/.exec(line)![0])
  token = url.searchParams.get("token")!
  base = url.origin
  // the server answers once it listens
  await until(async () => (await fetch(`${base}/jobs`).catch(() => undefined)) !== undefined, "the server to listen")
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
  server?.kill()
  tmp.cleanup()
})

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, {
    ...init,
    redirect: "manual",
    headers: { authorization: `Bearer ${token}`, ...init.headers }
  })
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
    expect(cookie).toMatch(new RegExp(`^jobs_token_${new URL(base).port}=${token}; HttpOnly; SameSite=Strict`))
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
})

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
    await page.waitForFunction('document.getElementById("log").textContent.includes("line-3")', null, {
      timeout: 15_000
    })
    await page.screenshot({ path: Path.join(shots, "job.png"), fullPage: true })
    page.on("dialog", (d) => void d.accept())
    const url = page.url()
    await page.click("form[action$='/cancel'] button")
    await page.waitForURL(url)
    await page.waitForFunction('document.getElementById("spec-status").textContent.startsWith("stopped")', null, {
      timeout: 20_000
    })
    await page.close()
  })

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
})

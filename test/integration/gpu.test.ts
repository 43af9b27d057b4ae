// GPU jobs end to end, the way a user runs them: the built `jobs` against `jobs gpu emulator` (RunPod, Lambda and
// Vast APIs on loopback, each instance a real sshd). One test per way out — success, command failure, bootstrap
// failure, SSH timeout, `jobs stop`, a signal to the keeper, kill -9 then a sweep, kill -9 and the instance-side
// guard — each ending with no instance alive in the emulator; a faulty provider; secrets never written; cost.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { BIN, jobs, json, type Result, tempDir } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available() && ChildProcess.spawnSync("rsync", ["--version"]).status === 0
if (!can && !inCi) console.warn("SKIPPING GPU job tests: install openssh-server and rsync")

let emulator: ChildProcess.ChildProcess | undefined
let url = ""
let env: Record<string, string | undefined> = {}

const admin = async (path: string, body?: unknown) =>
  (await (
    await fetch(`${url}/_admin/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) })
  ).json()) as any
const alive = async (): Promise<Array<any>> => (await admin("instances")).instances.filter((i: any) => i.alive)
const until = async <A>(f: () => Promise<A | undefined> | A | undefined, timeoutMs = 30_000, what = "it") => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
const noneAlive = () =>
  until(async () => ((await alive()).length === 0 ? true : undefined), 30_000, "no instance alive")

const as = (home: string, args: ReadonlyArray<string>, cwd?: string): Result =>
  jobs(args, { home, env, ...(cwd === undefined ? {} : { cwd }) })
// a job pushes its cwd: each runs from a small project of its own (never the whole temp dir)
const run = (home: string, args: ReadonlyArray<string>, cwd = tmp.dir()) => {
  const r = as(home, ["run", "--json", ...args], cwd)
  expect(r.code, r.stderr).toBe(0)
  return json<{ id: string; shortId: string; executor: string; worker: string }>(r)
}
const status = (home: string, id: string) =>
  json<{ status: string; exitCode: number | null; reason: string | null; cost: number | null }>(
    as(home, ["status", id, "--json"])
  )
const events = (home: string, id: string): Array<any> =>
  Fs.readFileSync(Path.join(home, "jobs", id, "events.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
const keeperPid = (home: string, id: string) =>
  Number(Fs.readFileSync(Path.join(home, "jobs", id, "keeper"), "utf8").split(" ")[0])
const running = (home: string, id: string) =>
  until(() => (status(home, id).status === "running" ? true : undefined), 30_000, "the job to run")

/** Every file under a directory, with its text. */
const files = (dir: string): Array<{ path: string; text: string; mode: number }> => {
  const out: Array<{ path: string; text: string; mode: number }> = []
  const walk = (d: string) => {
    for (const entry of Fs.readdirSync(d, { withFileTypes: true })) {
      const p = Path.join(d, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (entry.isFile())
        out.push({ path: p, text: Fs.readFileSync(p, "latin1"), mode: Fs.statSync(p).mode & 0o777 })
    }
  }
  if (Fs.existsSync(dir)) walk(dir)
  return out
}

beforeAll(async () => {
  if (!can && !inCi) return
  const clientHome = tempDir("jobs-gpu-client-")
  Fs.mkdirSync(Path.join(clientHome, ".ssh"), { mode: 0o700 })
  ChildProcess.execFileSync("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-f",
    Path.join(clientHome, ".ssh", "id_ed25519")
  ])
  emulator = ChildProcess.spawn(process.execPath, ["--", BIN, "gpu", "emulator", "--step", "0.1s", "--json"], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const first = await new Promise<string>((resolve, reject) => {
    let text = ""
    emulator!.stdout!.on("data", (d: Buffer) => {
      text += d.toString("utf8")
      if (text.includes("\n")) resolve(text.split("\n")[0]!)
    })
    emulator!.once("exit", (code) => reject(new Error(`the emulator exited (${code})`)))
  })
  const started = JSON.parse(first) as { url: string; env: Record<string, string> }
  url = started.url
  env = {
    ...started.env,
    HOME: clientHome,
    SSH_AUTH_SOCK: undefined,
    JOBS_GPU_POLL_MS: "200",
    JOBS_GPU_RETRY_BASE_MS: "50",
    JOBS_GPU_GUARD_GRACE: "1",
    JOBS_GPU_GUARD_HOLD: "3"
  }
})
afterEach(async () => {
  if (url !== "") await admin("faults", { rateLimit: {}, noCapacity: [], createThenFail: [], sshLateSecs: 0 })
})
afterAll(async () => {
  try {
    if (emulator !== undefined) expect(await alive()).toEqual([])
  } finally {
    // a TERM closes the emulator: whatever is left (an sshd, a job on it) ends with it
    if (emulator !== undefined && emulator.exitCode === null) {
      emulator.kill("SIGTERM")
      await new Promise((r) => emulator!.once("exit", r))
    }
    tmp.cleanup()
  }
})

describe.skipIf(!can && !inCi)("jobs run --gpu", () => {
  it("runs on the cheapest offer: push, bootstrap steps, the command, downloads, terminate with its cost; no secret written", async () => {
    const home = tmp.home()
    const project = tmp.dir()
    Fs.writeFileSync(Path.join(project, "train.py"), "print('hello')\n")
    const secret = "hf_SECRET_value_42"
    const job = run(
      home,
      [
        "--gpu",
        "A100",
        "--provider",
        "runpod,lambda",
        "--bootstrap",
        "echo bootstrap one",
        "--bootstrap",
        "echo bootstrap two >&2",
        "--download",
        "./results",
        "--env",
        `HF_TOKEN=${secret}`,
        "--",
        "sh",
        "-c",
        'mkdir -p results && echo 42 > results/answer.txt && echo "token ${HF_TOKEN:+set}" && cat train.py'
      ],
      project
    )
    expect(job).toMatchObject({ executor: "gpu", worker: "gpu" })
    const wait = as(home, ["wait", job.id, "--timeout", "60s"])
    expect(wait.code, wait.stderr).toBe(0)
    await until(() => events(home, job.id).some((e) => e.type === "Terminated") || undefined, 30_000, "Terminated")
    await noneAlive()
    const types = events(home, job.id).map((e) => e.type)
    // the intent before the provider was called; the id as soon as known; each step; the end with its cost
    expect(types.indexOf("ProvisionRequested")).toBeLessThan(types.indexOf("Provisioned"))
    expect(types.filter((t) => t === "Bootstrapped")).toHaveLength(2)
    for (const t of ["InstanceReady", "GuardArmed", "Synced", "Started", "Exited", "Downloaded", "Terminated"])
      expect(types).toContain(t)
    // the cheapest of the two providers per GPU: Lambda's A100 at $1.29 (RunPod's is $1.64)
    const provisioned = events(home, job.id).find((e) => e.type === "Provisioned")
    expect(provisioned).toMatchObject({ provider: "lambda", name: `jobs-${job.id}`, pricePerHour: 1.29 })
    const terminated = events(home, job.id).find((e) => e.type === "Terminated")
    expect(terminated).toMatchObject({ by: "keeper", confirmed: true, pricePerHour: 1.29 })
    expect(terminated.cost).toBeCloseTo((1.29 * terminated.billedSecs) / 3600, 3)
    expect(status(home, job.id)).toMatchObject({ status: "completed", exitCode: 0, cost: terminated.cost })
    const list = json<Array<{ id: string; cost: number | null }>>(as(home, ["list", "--json"], project))
    expect(list.find((j) => j.id === job.id)?.cost).toBe(terminated.cost)
    const out = as(home, ["logs", job.id]).stdout
    expect(out).toContain("bootstrap one")
    expect(out).toContain("bootstrap two")
    expect(out).toContain("token set")
    expect(out).toContain("print('hello')")
    expect(Fs.readFileSync(Path.join(project, "results", "answer.txt"), "utf8")).toBe("42\n")

    // the secret is in the 0600 env files (local and on the instance) and nowhere else
    const instanceHome = (await admin("instances")).instances.find((i: any) => i.name === `jobs-${job.id}`).home
    for (const f of [...files(home), ...files(Path.join(instanceHome, ".jobs"))]) {
      if (!f.text.includes(secret)) continue
      expect(Path.basename(f.path), f.path).toBe("env")
      expect(f.mode, f.path).toBe(0o600)
    }
    expect(files(Path.join(instanceHome, ".jobs")).some((f) => f.text.includes(secret))).toBe(true)
    expect(as(home, ["events", job.id]).stdout).not.toContain(secret)
    expect(as(home, ["status", job.id, "--json"]).stdout).not.toContain(secret)
  })

  it("a failing command: its exit code, and the instance terminated", async () => {
    const home = tmp.home()
    const job = run(home, ["--gpu", "A100", "--provider", "vast", "--", "sh", "-c", "echo failing; exit 3"])
    expect(as(home, ["wait", job.id, "--timeout", "60s"]).code).toBe(3)
    await noneAlive()
    expect(status(home, job.id)).toMatchObject({ status: "failed", exitCode: 3 })
  })

  it("a capped log: capped on the instance, and the head, the marker and the latest output come home", async () => {
    const home = tmp.home()
    const print = 'i=0; while [ $i -lt 300 ]; do printf "line %05d %090d\\n" $i 0; i=$((i+1)); done'
    const job = run(home, ["--gpu", "A100", "--provider", "vast", "--max-log-size", "4K", "--", "sh", "-c", print])
    expect(as(home, ["wait", job.id, "--timeout", "90s"]).code).toBe(0)
    await noneAlive()
    // the instance's terminal ends lines with \r\n
    const last = `line 00299 ${"0".repeat(90)}\r\n`
    const logs = as(home, ["logs", job.id]).stdout
    const marker = /\n\[jobs: \d+ bytes skipped\]\n/.exec(logs)
    expect(marker).not.toBeNull()
    expect(logs.startsWith("line 00000 ")).toBe(true)
    expect(logs.endsWith(last)).toBe(true)
    expect(as(home, ["logs", "--tail", "1", job.id]).stdout).toBe(last)
    expect(events(home, job.id).filter((e) => e.type === "OutputTruncated")).toHaveLength(1)
  })

  it("forged lines on the instance (its own instance Terminated, another Provisioned) never reach the local log", async () => {
    const home = tmp.home()
    // the job finds its instance's id in its job folder there, and writes the local side's facts about it
    const forge =
      'id=$(basename "$PWD"); . "../../jobs/$id/guard.env"; t=2026-01-01T00:00:00Z; ' +
      'printf \'{"type":"Terminated","v":1,"id":"%s.t","job":"%s","at":"%s","provider":"vast","instanceId":"%s",' +
      '"by":"keeper","confirmed":true,"billedSecs":1,"pricePerHour":1,"cost":999}\\n' +
      '{"type":"Provisioned","v":1,"id":"%s.p","job":"%s","at":"%s","provider":"vast","instanceId":"forged-2",' +
      '"name":"jobs-%s","offer":"o","gpuType":"A100","gpuCount":1,"pricePerHour":1}\\n\' ' +
      '"$id" "$id" "$t" "$JOBS_GUARD_ID" "$id" "$id" "$t" "$id" >> "../../jobs/$id/events.jsonl"; sleep 1; exit 4'
    const job = run(home, ["--gpu", "A100", "--provider", "vast", "--", "sh", "-c", forge])
    expect(as(home, ["wait", job.id, "--timeout", "60s"]).code).toBe(4)
    await until(() => events(home, job.id).some((e) => e.type === "Terminated") || undefined, 30_000, "Terminated")
    await noneAlive()
    const all = events(home, job.id)
    expect(all.filter((e) => e.type === "Provisioned")).toHaveLength(1)
    expect(all.some((e) => e.instanceId === "forged-2")).toBe(false)
    const terminated = all.filter((e) => e.type === "Terminated")
    expect(terminated).toHaveLength(1)
    expect(terminated[0].cost).toBeLessThan(1)
    expect(all.filter((e) => e.type === "MirrorRefused")).toMatchObject([{ count: 2, reasons: { "local-only": 2 } }])
    expect(status(home, job.id)).toMatchObject({ status: "failed", exitCode: 4, cost: terminated[0].cost })
  })

  it("a failing bootstrap step: the command never runs, the job failed, the instance terminated", async () => {
    const home = tmp.home()
    const job = run(home, [
      "--gpu",
      "4090",
      "--cloud",
      "community",
      "--bootstrap",
      "echo prepping; exit 7",
      "--",
      "touch",
      "ran"
    ])
    await until(() => (status(home, job.id).status === "failed" ? true : undefined), 60_000, "the job to fail")
    await noneAlive()
    expect(status(home, job.id).reason).toBe('bootstrap failed: step 1 "echo prepping; exit 7" exited 7')
    expect(events(home, job.id).some((e) => e.type === "Started")).toBe(false)
    expect(as(home, ["logs", job.id]).stdout).toContain("prepping")
  })

  it("SSH that never answers: each offer tried within --ssh-timeout, terminated, the job failed", async () => {
    const home = tmp.home()
    await admin("faults", { sshLateSecs: 300 })
    const job = run(home, ["--gpu", "H100", "--provider", "runpod", "--ssh-timeout", "2s", "--", "true"])
    await until(() => (status(home, job.id).status === "failed" ? true : undefined), 60_000, "the job to fail")
    await noneAlive()
    const rejected = events(home, job.id).filter((e) => e.type === "OfferRejected")
    expect(rejected[0].reason).toMatch(/^no SSH within 2s/)
    expect(status(home, job.id).reason).toMatch(/^provision failed: no offer could be had/)
    expect(events(home, job.id).filter((e) => e.type === "Terminated")).toHaveLength(1)
  })

  it("jobs stop, while it runs and before it starts: stopped, and the instance terminated", async () => {
    const home = tmp.home()
    const job = run(home, ["--gpu", "A100", "--provider", "runpod", "--", "sleep", "300"])
    await running(home, job.id)
    const stop = as(home, ["stop", job.id, "--grace", "1s"])
    expect(stop.code, stop.stderr).toBe(0)
    expect(status(home, job.id).status).toBe("stopped")
    await noneAlive()

    const early = run(home, ["--gpu", "A100", "--provider", "runpod", "--", "sleep", "300"])
    expect(as(home, ["stop", early.id]).code).toBe(0)
    await until(() => (status(home, early.id).status === "stopped" ? true : undefined), 30_000, "stopped")
    await noneAlive()
    expect(events(home, early.id).some((e) => e.type === "Started")).toBe(false)
  })

  it("SIGTERM and SIGINT to the keeper: the instance is terminated on the way out", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const home = tmp.home()
      const job = run(home, ["--gpu", "A100", "--provider", "vast", "--", "sleep", "300"])
      await running(home, job.id)
      process.kill(keeperPid(home, job.id), signal)
      await noneAlive()
      await until(() => (status(home, job.id).status === "interrupted" ? true : undefined), 30_000, "interrupted")
      expect(events(home, job.id).find((e) => e.type === "Terminated")).toMatchObject({ by: "keeper", confirmed: true })
    }
  })

  it("an instance that vanishes under the job: interrupted, and the terminate of the gone instance succeeds", async () => {
    const home = tmp.home()
    const job = run(home, ["--gpu", "A100", "--provider", "runpod", "--", "sleep", "300"])
    await running(home, job.id)
    const instance = (await alive()).find((i: any) => i.name === `jobs-${job.id}`)
    await admin(`vanish/runpod/${instance.id}`, {})
    await until(() => (status(home, job.id).status === "interrupted" ? true : undefined), 30_000, "interrupted")
    expect(status(home, job.id).reason).toMatch(/^the instance ended under the job/)
    await until(() => events(home, job.id).find((e) => e.type === "Terminated"), 30_000, "Terminated")
    expect(events(home, job.id).find((e) => e.type === "Terminated")).toMatchObject({ by: "keeper", confirmed: true })
    await noneAlive()
  })

  it("a faulty provider (429s, no capacity on the first offer, a create that fails, SSH late): runs on the next offer", async () => {
    const home = tmp.home()
    await admin("faults", {
      rateLimit: { runpod: { count: 2, retryAfterSecs: 1 }, vast: { count: 3, retryAfterSecs: null } },
      noCapacity: ["1001"],
      createThenFail: ["gpu_1x_a100@us-east-1"],
      sshLateSecs: 1
    })
    const job = run(home, ["--gpu", "A100", "--", "echo", "ran anyway"])
    expect(as(home, ["wait", job.id, "--timeout", "60s"]).code).toBe(0)
    await noneAlive()
    expect(as(home, ["logs", job.id]).stdout).toContain("ran anyway")
    const all = events(home, job.id)
    // vast 1001 ($1.10, no capacity), vast 1002 ($1.25) is where it ran
    expect(all.filter((e) => e.type === "OfferRejected").map((e) => e.offer)).toEqual(["1001"])
    expect(all.find((e) => e.type === "Provisioned")).toMatchObject({ provider: "vast", offer: "1002" })

    const second = tmp.home()
    await admin("faults", { createThenFail: ["gpu_1x_a100@us-east-1"], sshLateSecs: 0 })
    const next = run(second, ["--gpu", "A100", "--provider", "lambda,runpod", "--", "echo", "second"])
    expect(as(second, ["wait", next.id, "--timeout", "60s"]).code).toBe(0)
    await noneAlive()
    // the failed instance and the one it ran on, each terminated and recorded
    await until(
      () => (events(second, next.id).filter((e) => e.type === "Terminated").length === 2 ? true : undefined),
      30_000,
      "two Terminated events"
    )
    expect(events(second, next.id).find((e) => e.type === "OfferRejected")).toMatchObject({
      offer: "gpu_1x_a100@us-east-1"
    })
  })

  it("kill -9 of the keeper mid-run, then jobs gpu sweep: listed, terminated, confirmed, the job interrupted", async () => {
    const home = tmp.home()
    const job = run(home, ["--gpu", "A100", "--provider", "vast", "--", "sleep", "300"])
    await running(home, job.id)
    process.kill(keeperPid(home, job.id), "SIGKILL")
    const listed = as(home, ["gpu", "sweep"])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(/would terminate: no keeper follows its job/)
    expect(await alive()).toHaveLength(1)
    const swept = json<Array<{ terminated: boolean; job: string }>>(as(home, ["gpu", "sweep", "--yes", "--json"]))
    expect(swept.filter((v) => v.terminated).map((v) => v.job)).toEqual([job.id])
    expect(await alive()).toEqual([])
    expect(status(home, job.id)).toMatchObject({ status: "interrupted" })
    expect(events(home, job.id).find((e) => e.type === "Terminated")).toMatchObject({ by: "sweep", confirmed: true })
  })

  it("kill -9 of the keeper mid-run and no sweep: the instance-side guard ends the instance after the job", async () => {
    for (const provider of ["runpod", "vast"]) {
      const home = tmp.home()
      const job = run(home, ["--gpu", "A100", "--provider", provider, "--", "sleep", "2"])
      await running(home, job.id)
      process.kill(keeperPid(home, job.id), "SIGKILL")
      const ls = as(home, ["gpu", "ls"])
      expect(ls.stdout).toMatch(new RegExp(`${job.shortId}.*instance \\(${provider}-api\\)`))
      await until(async () => ((await alive()).length === 0 ? true : undefined), 60_000, "the guard to end it")
      const ended = (await admin("instances")).instances.find((i: any) => i.name === `jobs-${job.id}`)
      expect(ended.endedBy).toMatch(/^self/)
      // what the logs hold is reconciled by the next sweep: gone, recorded with its cost
      expect(as(home, ["gpu", "sweep", "--yes"]).code).toBe(0)
      expect(status(home, job.id).cost).toBeGreaterThan(0)
    }
  })

  it("--keep-alive: kept after the job, listed with its cost, ended by gpu terminate or by a sweep past its duration", async () => {
    const home = tmp.home()
    const forever = run(home, [
      "--gpu",
      "A100",
      "--provider",
      "runpod",
      "--keep-alive",
      "--",
      "sh",
      "-c",
      "mkdir -p out && echo kept > out/f && echo kept"
    ])
    // a guard that would wait 10 minutes: here the sweep is what ends it once its second is over
    const r = jobs(["run", "--json", "--gpu", "A100", "--provider", "vast", "--keep-alive=1s", "--", "echo", "kept"], {
      home,
      cwd: tmp.dir(),
      env: { ...env, JOBS_GPU_GUARD_GRACE: "600" }
    })
    const limited = json<{ id: string; shortId: string }>(r)
    for (const j of [forever, limited]) expect(as(home, ["wait", j.id, "--timeout", "60s"]).code).toBe(0)
    await until(
      () => (["vast", "runpod"].every((p) => as(home, ["gpu", "ls"]).stdout.includes(p)) ? true : undefined),
      30_000,
      "both listed"
    )
    await new Promise((r) => setTimeout(r, 1500))
    expect(await alive()).toHaveLength(2)
    const ls = as(home, ["gpu", "ls"])
    expect(ls.stderr).toMatch(new RegExp(`instance \\S+ of job ${forever.shortId} is kept alive \\(\\$1\\.64/h`))
    expect(ls.stdout).toMatch(new RegExp(`${forever.shortId}\\s+completed\\s+runpod`))
    const swept = json<Array<{ job: string; reason?: string; terminated: boolean }>>(
      as(home, ["gpu", "sweep", "--yes", "--json"])
    )
    expect(swept.find((v) => v.job === limited.id)).toMatchObject({
      terminated: true,
      reason: "kept alive past its duration"
    })
    expect(swept.find((v) => v.job === forever.id)?.terminated).toBe(false)
    // a kept instance is a worker like any: files come back with jobs pull
    const dest = tmp.dir()
    const pulled = as(home, ["pull", forever.id, "./out", dest])
    expect(pulled.code, pulled.stderr).toBe(0)
    expect(Fs.readFileSync(Path.join(dest, "out", "f"), "utf8")).toBe("kept\n")
    expect(as(home, ["logs", forever.id]).stdout).toMatch(/^kept\r?\n$/)
    expect(as(home, ["gpu", "terminate", forever.shortId]).stdout).toMatch(/terminated$/m)
    await noneAlive()
    expect(as(home, ["gpu", "ls"]).stderr).not.toContain("kept alive")
  })

  it("an instance's host key is checked against its job's known_hosts: another key type is CHANGED, a revoked key refused", async () => {
    const home = tmp.home()
    const job = run(home, [
      "--gpu",
      "A100",
      "--provider",
      "runpod",
      "--keep-alive",
      "--",
      "sh",
      "-c",
      "mkdir -p out && echo kept > out/f"
    ])
    try {
      expect(as(home, ["wait", job.id, "--timeout", "60s"]).code).toBe(0)
      // the first key seen was recorded in the job's own file, as OpenSSH records it
      const ready = events(home, job.id).find((e) => e.type === "InstanceReady")
      const name = `[${ready.host}]:${ready.port}`
      const file = Path.join(home, "jobs", job.id, "known_hosts")
      expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
      const found = ChildProcess.spawnSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8" })
      expect(found.status).toBe(0)
      const instanceKey = found.stdout
        .split("\n")
        .find((l) => l.includes("ssh-ed25519"))!
        .split(" ")
        .slice(1, 3)
        .join(" ")
      const original = Fs.readFileSync(file, "utf8")
      // each pull on a connection of its own: a shared one still open was checked when it was opened
      const pull = () => jobs(["pull", job.id, "./out", tmp.dir()], { home, env: { ...env, JOBS_SSH_PERSIST: "0" } })

      // the job's file records an ECDSA key for the instance, which shows its ed25519 one: changed, never accepted
      const other = Path.join(tmp.dir(), "other")
      ChildProcess.execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", other])
      const recorded = `${name} ${Fs.readFileSync(`${other}.pub`, "utf8").split(" ").slice(0, 2).join(" ")}\n`
      Fs.writeFileSync(file, recorded)
      const changed = pull()
      expect(changed.code).toBe(1)
      expect(changed.stderr).toMatch(
        new RegExp(
          "has CHANGED: it presents an ssh-ed25519 key SHA256:\\S+ that is not the one recorded in " +
            `${file.replaceAll(".", "\\.")}:1 \\(ecdsa-sha2-nistp256\\)`
        )
      )
      expect(Fs.readFileSync(file, "utf8")).toBe(recorded)

      // a key the user revoked in ~/.ssh/known_hosts is refused on an instance too
      const userFile = Path.join(env.HOME!, ".ssh", "known_hosts")
      Fs.writeFileSync(file, original)
      Fs.writeFileSync(userFile, `@revoked * ${instanceKey}\n`)
      try {
        const revoked = pull()
        expect(revoked.code).toBe(1)
        expect(revoked.stderr).toMatch(/is REVOKED: it is marked @revoked in ~\/\.ssh\/known_hosts:1/)
      } finally {
        Fs.rmSync(userFile, { force: true })
      }
      const pulled = pull()
      expect(pulled.code, pulled.stderr).toBe(0)
    } finally {
      as(home, ["gpu", "terminate", job.shortId])
      await noneAlive()
    }
  })

  it("jobs gpu offers: across providers, cheapest per GPU first", () => {
    const home = tmp.home()
    const r = as(home, ["gpu", "offers", "--type", "A100", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const offers = json<Array<{ provider: string; pricePerGpu: number; priceTotal: number }>>(r)
    expect(new Set(offers.map((o) => o.provider))).toEqual(new Set(["runpod", "lambda", "vast"]))
    expect(offers.map((o) => o.pricePerGpu)).toEqual([...offers.map((o) => o.pricePerGpu)].sort((a, b) => a - b))
    const table = as(home, ["gpu", "offers", "--type", "A100", "--count", "2"]).stdout
    expect(table.split("\n")[0]).toMatch(/^PROVIDER\s+GPU\s+COUNT\s+VRAM\s+CUDA\s+CLOUD\s+\$\/GPU\/H\s+\$\/H/)
    expect(as(home, ["run", "--bootstrap", "make", "--", "true"]).stderr).toBe(
      "Cannot use --bootstrap without --gpu TYPE[:N]\n"
    )
    expect(as(home, ["run", "--gpu", "A100:x", "--", "true"]).stderr).toBe(
      'Cannot parse --gpu "A100:x": use TYPE[:COUNT], such as A100:2\n'
    )
  })
})

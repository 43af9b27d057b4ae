// 8. remote: SSH workers against a private sshd on loopback. (a) Pushing a 10,000-file tree, first and second time,
// bytes sent and wall time, beside plain `rsync -a` over OpenSSH. (b) How long `jobs run --on W -- true` takes to
// return, beside a bare `ssh host true` with and without an OpenSSH master connection already open.

import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { capture, env, jobs, ms, ROOT, ratio, runs, stats, table, tempDir, timeOnce, which } from "./lib.mjs"

export const name = "remote"

/** Starts the tests' private sshd (test/support/sshd.ts, through vite-node); stop() ends it. */
const startSshd = async () => {
  const child = ChildProcess.spawn(
    Path.join(ROOT, "node_modules/.bin/vite-node"),
    [Path.join(ROOT, "test/support/sshd_main.ts")],
    { stdio: ["pipe", "pipe", "inherit"], env: env() }
  )
  const line = await new Promise((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (d) => {
      out += d
      if (out.includes("\n")) resolve(out.split("\n")[0])
    })
    child.once("exit", (code) => reject(new Error(`the sshd helper exited (${code})`)))
  })
  return { ...JSON.parse(line), stop: () => child.stdin.end() }
}

/** A tree of `n` small files (a source tree's shape: 1-8 KB each, 100 per folder). */
const makeTree = (dir, n) => {
  for (let i = 0; i < n; i++) {
    const sub = Path.join(dir, `d${Math.floor(i / 100)}`)
    if (i % 100 === 0) Fs.mkdirSync(sub, { recursive: true })
    Fs.writeFileSync(Path.join(sub, `f${i}.txt`), Crypto.randomBytes(512 + (i % 8) * 512).toString("base64"))
  }
}

const bytesSent = (stats) => Number(/Total bytes sent: ([\d,]+)/.exec(stats)?.[1]?.replaceAll(",", "") ?? Number.NaN)
const kb = (n) => (Number.isFinite(n) ? `${(n / 1024).toFixed(0)} KB` : "–")

export const run = async ({ log }) => {
  for (const tool of ["rsync", "ssh", "tmux"]) {
    if (which(tool) === null) return `## remote\n\n${tool} is not installed: skipped.`
  }
  if (!Fs.existsSync("/usr/sbin/sshd")) return "## remote\n\nopenssh-server is not installed: skipped."
  const server = await startSshd()
  try {
    const key = Path.join(server.clientHome, ".ssh", "id_ed25519")
    const knownHosts = Path.join(server.clientHome, ".ssh", "known_hosts")
    Fs.writeFileSync(knownHosts, `[127.0.0.1]:${server.port} ${server.hostKey}\n`)
    const sshArgs = [
      "-p",
      String(server.port),
      "-i",
      key,
      "-o",
      `UserKnownHostsFile=${knownHosts}`,
      "-o",
      "BatchMode=yes"
    ]
    const home = tempDir("jobs-bench-remote-home-")
    const remoteHome = tempDir("jobs-bench-remote-worker-")
    const jobsEnv = env({ JOBS_HOME: home, HOME: server.clientHome, SSH_AUTH_SOCK: undefined })
    capture(jobs("worker", "add", "w", `root@127.0.0.1:${server.port}`, "--remote-home", remoteHome), { env: jobsEnv })

    // (a) pushes
    const tree = tempDir("jobs-bench-remote-tree-")
    makeTree(tree, 10_000)
    log("  tree of 10,000 files written")
    const rsyncOnce = (dest) => {
      const t0 = process.hrtime.bigint()
      const out = capture(
        ["rsync", "-a", "--stats", "-e", `ssh ${sshArgs.join(" ")}`, "./", `root@127.0.0.1:${dest}/`],
        { cwd: tree }
      )
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: bytesSent(out) }
    }
    const plainDest = Path.join(tempDir("jobs-bench-remote-plain-"), "dest")
    const plainFirst = rsyncOnce(plainDest)
    const plainSecond = rsyncOnce(plainDest)
    const jobsPush = () => {
      const t0 = process.hrtime.bigint()
      const id = JSON.parse(capture(jobs("run", "--on", "w", "--json", "--", "true"), { env: jobsEnv, cwd: tree })).id
      const wall = Number(process.hrtime.bigint() - t0) / 1e6
      const synced = Fs.readFileSync(Path.join(home, "jobs", id, "events.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.includes('"type":"Synced"'))
        .map((l) => JSON.parse(l))[0]
      return { ms: wall, pushMs: synced?.durationMs ?? Number.NaN, bytes: synced?.bytesSent ?? Number.NaN }
    }
    const jobsFirst = jobsPush()
    const jobsSecond = jobsPush()
    log("  pushes done")

    // (b) latency of run --on without a push
    const n = runs(10)
    const control = Path.join(tempDir("jobs-bench-remote-ctl-"), "ctl")
    const rows = { jobsCold: [], jobsShared: [], ssh: [], sshMaster: [] }
    const time = (k, argv, options) => {
      const t = timeOnce(argv, options)
      if (t.ok) rows[k].push(t.ms)
      else log(`  ${k}: ${t.why}`)
    }
    const master = ChildProcess.spawn(
      "ssh",
      [...sshArgs, "-o", `ControlPath=${control}`, "-o", "ControlMaster=yes", "-N", "root@127.0.0.1"],
      { stdio: "ignore" }
    )
    try {
      for (let i = 0; i < 100 && !Fs.existsSync(control); i++) await new Promise((r) => setTimeout(r, 50))
      for (let i = 0; i < n; i++) {
        // without sharing: a connection of its own each time; with: through the holder the previous call left
        time("jobsCold", jobs("run", "--on", "w", "-n", "--", "true"), { env: { ...jobsEnv, JOBS_SSH_PERSIST: "0" } })
        capture(jobs("run", "--on", "w", "-n", "--", "true"), { env: jobsEnv })
        await new Promise((r) => setTimeout(r, 300))
        time("jobsShared", jobs("run", "--on", "w", "-n", "--", "true"), { env: jobsEnv })
        time("ssh", ["ssh", ...sshArgs, "root@127.0.0.1", "true"], {})
        time("sshMaster", ["ssh", ...sshArgs, "-o", `ControlPath=${control}`, "root@127.0.0.1", "true"], {})
      }
    } finally {
      master.kill()
    }
    const s = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, stats(v)]))
    const line = (label, st) => [label, ms(st.median), ms(st.p90), ms(st.min), ratio(st.median, s.ssh.median), st.n]
    return [
      "## remote",
      "",
      "A private sshd on 127.0.0.1 (its per-session set-up dominates on loopback: an `exec` costs about 200 ms " +
        "there whatever the client). Pushes of a tree of 10,000 small files (1-8 KB, 100 folders): plain `rsync -a` " +
        "over OpenSSH pushes twice into the same folder; `jobs run --on` pushes each job into a work dir of its own, " +
        "the second one copying unchanged files on the worker from the first (`--copy-dest`), over `jobs`'s own SSH " +
        "transport. Bytes are rsync's `Total bytes sent`.",
      "",
      table(
        ["push", "bytes sent", "push ms", "command ms"],
        [
          ["**`jobs run --on w -- true`**, first", kb(jobsFirst.bytes), ms(jobsFirst.pushMs), ms(jobsFirst.ms)],
          [
            "**`jobs run --on w -- true`**, second (unchanged)",
            kb(jobsSecond.bytes),
            ms(jobsSecond.pushMs),
            ms(jobsSecond.ms)
          ],
          ["`rsync -a` over ssh, first", kb(plainFirst.bytes), ms(plainFirst.ms), "–"],
          ["`rsync -a` over ssh, second (same folder)", kb(plainSecond.bytes), ms(plainSecond.ms), "–"]
        ]
      ),
      "",
      "Wall time until the command returns, no push (`-n`): `jobs` connects, prepares the job folder and starts " +
        "the supervisor in tmux on the worker in one round trip. New connection: `JOBS_SSH_PERSIST=0`; shared: " +
        "through the holder a previous command left (`jobs __mux`, like OpenSSH's ControlPersist). `ssh` rows run " +
        "`true` on the same server, with and without an OpenSSH master connection.",
      "",
      table(
        ["command", "median ms", "p90 ms", "min ms", "× ssh host true", "runs"],
        [
          line("**`jobs run --on w -n -- true`** (new connection)", s.jobsCold),
          line("**`jobs run --on w -n -- true`** (shared connection open)", s.jobsShared),
          line("`ssh host true` (new connection)", s.ssh),
          line("`ssh host true` (master connection open)", s.sshMaster)
        ]
      )
    ].join("\n")
  } finally {
    server.stop()
  }
}

// 11. The cost of capturing a capped log: 200 MB of output through the supervisor with --max-log-size 1M, beside the
// same output uncapped, a bare `GEN | cat > file` (the floor of any capture through a copier) and the generator
// alone. Wall time and CPU time (user + system of every process involved, from the shell's `times`) side by side.
// BENCH_CAPPED_BEFORE=PATH names another supervisor.sh (e.g. `git show HEAD~1:adapters/supervisor.sh > /tmp/s.sh`),
// timed capped the same way: a before/after figure.
//
// The supervisor is run in the foreground, as `jobs run` starts it (same arguments, a job folder with its limits
// file), so that every process it starts is waited for and counted: the CPU of a detached job is nobody's child.

import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { env, ms, ROOT, ratio, runs, since, stats, table, tempDir } from "./lib.mjs"

export const name = "capped"

const BYTES = Number(process.env.BENCH_CAPPED_BYTES ?? 200 * 1024 * 1024)
const LIMIT = 1024 * 1024
/** 200 MB of log-like lines (what a chatty training run prints), written by one process. */
const GEN = `yes 'step 123456 loss 0.123456 lr 0.000100 grad_norm 1.234567 tokens/s 98765.4 eta 01:23:45' | head -c ${BYTES}`
const SUPERVISOR = Path.join(ROOT, "adapters/supervisor.sh")
const ID = "01J00000000000000000000000"

/** Runs `sh -c SCRIPT` and returns its wall time and the CPU time of everything it waited for, in ms. */
const timed = (script, args) => {
  const t0 = process.hrtime.bigint()
  const r = ChildProcess.spawnSync("sh", ["-c", `${script}\ntimes`, "sh", ...args], {
    env: env(),
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    timeout: 600_000
  })
  const wall = since(t0)
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status}): ${r.stderr}`)
  // `times` prints the shell's own user and system time, then its children's: the last two figures
  const figures = [...r.stdout.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => (Number(m[1]) * 60 + Number(m[2])) * 1000)
  if (figures.length < 4) throw new Error(`no times in ${JSON.stringify(r.stdout)}`)
  const cpu = figures.slice(-2).reduce((a, b) => a + b, 0)
  return { wall, cpu }
}

/** A fresh job folder under a home, with a limits file when `limit` is given. */
const jobDir = (root, limit) => {
  const home = Fs.mkdtempSync(Path.join(root, "home-"))
  const dir = Path.join(home, "jobs", ID)
  Fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  Fs.writeFileSync(Path.join(dir, "env"), "")
  Fs.writeFileSync(Path.join(dir, "events.jsonl"), "")
  if (limit !== undefined) Fs.writeFileSync(Path.join(dir, "limits"), `_jmaxlog=${limit}\n`)
  return { home, dir }
}

/** What a finished run left: the bytes kept and whether its log says the output was dropped. */
const kept = (dir) => {
  let bytes = 0
  for (const f of Fs.readdirSync(dir))
    if (/^output\.(log|tail\.\d+)$/.test(f)) bytes += Fs.statSync(Path.join(dir, f)).size
  return bytes
}

export const run = async ({ log }) => {
  const n = runs(3)
  const root = tempDir("jobs-bench-capped-")
  const before = process.env.BENCH_CAPPED_BEFORE
  const supervised = (script, limit) => () => {
    const { home, dir } = jobDir(root, limit)
    const t = timed('sh "$1" "$2" "$3" 0 5 "$4" -- sh -c "$5" </dev/null >/dev/null 2>&1', [script, dir, ID, root, GEN])
    const events = Fs.readFileSync(Path.join(dir, "events.jsonl"), "utf8")
    if (!events.includes('"type":"Exited"') || events.includes('"type":"OutputDropped"'))
      throw new Error(`the supervised run did not end cleanly: ${events}`)
    const size = kept(dir)
    Fs.rmSync(home, { recursive: true, force: true })
    return { ...t, size }
  }
  const commands = [
    { label: "generator alone (`GEN > /dev/null`)", go: () => timed(`${GEN} >/dev/null`, []) },
    {
      label: "`GEN | cat > file`",
      reference: true,
      go: () => {
        const file = Path.join(root, "cat.out")
        const t = timed(`${GEN} | cat >"$1"`, [file])
        Fs.rmSync(file, { force: true })
        return t
      }
    },
    { label: "supervisor, uncapped", go: supervised(SUPERVISOR) },
    { label: "**supervisor, `--max-log-size 1M`**", go: supervised(SUPERVISOR, LIMIT) },
    ...(before === undefined
      ? []
      : [{ label: `before (\`${Path.basename(before)}\`), \`--max-log-size 1M\``, go: supervised(before, LIMIT) }])
  ].map((c) => ({ ...c, wall: [], cpu: [], size: 0 }))
  log(`capped: ${commands.length} commands × ${n} runs of ${BYTES} bytes, interleaved`)
  for (let i = 0; i < n; i++) {
    for (const c of commands) {
      const t = c.go()
      c.wall.push(t.wall)
      c.cpu.push(t.cpu)
      if (t.size !== undefined) c.size = t.size
    }
    log(`  ${i + 1}/${n}`)
  }
  const ref = commands.find((c) => c.reference)
  const refWall = stats(ref.wall).median
  const refCpu = stats(ref.cpu).median
  const rows = commands.map((c) => {
    const wall = stats(c.wall).median
    const cpu = stats(c.cpu).median
    return [c.label, ms(wall), ratio(wall, refWall), ms(cpu), ratio(cpu, refCpu), c.size === 0 ? "–" : c.size]
  })
  return [
    "## Capped capture",
    "",
    `${(BYTES / 2 ** 20).toFixed(0)} MiB of 87-byte lines (\`yes … | head -c\`) captured ${n} times each, interleaved; ` +
      "medians. CPU is user + system time of every process of the run (the generator included: its own row says how " +
      "much of it is the generator's). The supervisor runs in the foreground with the arguments `jobs run` gives it.",
    "",
    table(["capture", "wall ms", "× cat", "CPU ms", "CPU × cat", "bytes kept"], rows)
  ].join("\n")
}

// A capped log of a job on an SSH worker reads as a local one does: the worker's supervisor caps it (the limit goes
// with the job), and the mirror brings the latest output home (output.tail.N beside the head), for `wait` + `logs`
// and for `logs -f` as the job runs. The pieces are untrusted input like all a worker sends: bounded in number and
// size, named output.tail.<digits>, and no link is followed on either side.
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"
import { jobsAsync, json } from "../support/cli.ts"
import { readEvents, scratch } from "../support/job_files.ts"
import { workerSuite } from "../support/worker.ts"

const tmp = scratch()
const { enabled, env, as, withWorker } = workerSuite(tmp, "remote capped log tests")

/** N lines "line 00000 000…", as the job's terminal on the worker (tmux) shows them: ending in \r\n. */
const lines = (n: number): string =>
  Array.from({ length: n }, (_, i) => `line ${String(i).padStart(5, "0")} ${"0".repeat(90)}\r\n`).join("")
const printing = (n: number, pause: string) =>
  `i=0; while [ $i -lt ${n} ]; do printf "line %05d %090d\\n" $i 0; i=$((i+1)); ${pause}; done`

/**
 * What a reader of a 4 KiB-capped log of `whole` must see: the head, then the marker and the latest output. A
 * follower that fell behind the pieces more than once has a marker for each gap: what lies between markers is
 * `whole`'s, in order, and the last part ends it.
 */
const expectCapped = (text: string, whole: string) => {
  const parts = text.split(/\n\[jobs: \d+ bytes skipped\]\n/)
  expect(parts.length, text.slice(0, 200)).toBeGreaterThan(1)
  expect(parts[0]).toBe(whole.slice(0, 4096))
  let at = 4096
  for (const part of parts.slice(1)) {
    const found = whole.indexOf(part, at)
    expect(
      found,
      `a part after a marker is not the whole's, in order: ${JSON.stringify(part.slice(0, 120))}`
    ).toBeGreaterThanOrEqual(at)
    at = found + part.length
  }
  expect(at, `the last part does not end the whole: ${JSON.stringify(parts.at(-1)!.slice(-200))}`).toBe(whole.length)
  expect(parts.at(-1)!.length).toBeGreaterThan(100)
}

/** The pieces in a job folder: each a regular file of at most a quarter of the 4 KiB limit plus one, three at most. */
const expectPieces = (dir: string) => {
  const pieces = Fs.readdirSync(dir).filter((f) => f.startsWith("output.tail."))
  expect(pieces.length).toBeGreaterThan(0)
  expect(pieces.length).toBeLessThanOrEqual(3)
  for (const p of pieces) {
    expect(p).toMatch(/^output\.tail\.\d+$/)
    const st = Fs.lstatSync(Path.join(dir, p))
    expect(st.isFile()).toBe(true)
    expect(st.size).toBeLessThanOrEqual(1025)
  }
}

describe.skipIf(!enabled)("a capped log on an SSH worker", () => {
  it("is capped there, and `wait` then `logs` show the head, the marker and the latest output", async () => {
    const { home, worker } = withWorker()
    const id = json<{ id: string }>(
      as(home, ["run", "--json", "--on", "w", "-n", "--max-log-size", "4K", "--", "sh", "-c", printing(300, ":")])
    ).id
    expect(as(home, ["wait", id, "--timeout", "60s"]).code).toBe(0)
    // the worker's head is the limit, and the latest output is in pieces there
    const remote = Path.join(worker, "jobs", id)
    expect(Fs.statSync(Path.join(remote, "output.log")).size).toBe(4096)
    const whole = lines(300)
    const logs = as(home, ["logs", id]).stdout
    expectCapped(logs, whole)
    expect(logs.endsWith(`line 00299 ${"0".repeat(90)}\r\n`)).toBe(true)
    expect(as(home, ["logs", "--tail", "1", id]).stdout).toBe(`line 00299 ${"0".repeat(90)}\r\n`)
    expectPieces(Path.join(home, "jobs", id))
    // and the job's log says so, once
    expect(readEvents(home, id).filter((e) => e.type === "OutputTruncated")).toHaveLength(1)
  }, 120_000)

  it("`logs -f` shows the latest output as it comes, to the last line", async () => {
    const { home, worker } = withWorker()
    const id = json<{ id: string }>(
      as(home, [
        "run",
        "--json",
        "--on",
        "w",
        "-n",
        "--max-log-size",
        "4K",
        "--",
        "sh",
        "-c",
        printing(150, "sleep 0.02")
      ])
    ).id
    const followed = await jobsAsync(["logs", "-f", id], { home, env: env() })
    expect(followed.code).toBe(0)
    const whole = lines(150)
    // a follower that kept up sees every byte; one that fell behind the pieces kept, the head, the marker, the rest
    if (followed.stdout.includes("bytes skipped]")) expectCapped(followed.stdout, whole)
    else expect(followed.stdout).toBe(whole)
    expect(followed.stdout.endsWith(`line 00149 ${"0".repeat(90)}\r\n`), followed.stdout.slice(-300)).toBe(true)
    // it was capped on the worker, and its latest output came home in pieces
    expect(Fs.statSync(Path.join(worker, "jobs", id, "output.log")).size).toBe(4096)
    expectPieces(Path.join(home, "jobs", id))
  }, 120_000)

  it("takes no link, no oversized piece and no other name from the worker, and writes through no link at home", async () => {
    const { home } = withWorker()
    const secret = Path.join(tmp.dir(), "secret")
    Fs.writeFileSync(secret, "the secret of the client\n")
    const target = Path.join(tmp.dir(), "target")
    Fs.writeFileSync(target, "untouched\n")
    // the job plants, beside its own pieces on the worker: a link to a file, an oversized piece and other names
    const plant =
      'd=$(dirname "$JOBS_PROGRESS"); ' +
      `ln -s ${secret} "$d/output.tail.99999"; head -c 100000 /dev/zero > "$d/output.tail.99998"; ` +
      'echo x > "$d/output.tail.1x"; echo y > "$d/output.tail."; '
    const id = json<{ id: string }>(
      as(home, [
        "run",
        "--json",
        "--on",
        "w",
        "-n",
        "--max-log-size",
        "4K",
        "--",
        "sh",
        "-c",
        `${printing(100, ":")}; ${plant} sleep 1`
      ])
    ).id
    // and a link at home where a piece will go
    const local = Path.join(home, "jobs", id)
    Fs.symlinkSync(target, Path.join(local, "output.tail.1"))
    expect(as(home, ["wait", id, "--timeout", "60s"]).code).toBe(0)
    expect(Fs.readFileSync(target, "utf8")).toBe("untouched\n")
    const names = Fs.readdirSync(local).filter((f) => f.startsWith("output.tail."))
    expect(names).not.toContain("output.tail.99999")
    expect(names).not.toContain("output.tail.1x")
    expect(names).not.toContain("output.tail.")
    for (const n of names) {
      const st = Fs.lstatSync(Path.join(local, n))
      if (st.isSymbolicLink()) continue
      expect(st.size).toBeLessThanOrEqual(1025)
    }
    expect(as(home, ["logs", id]).stdout).not.toContain("secret of the client")
    // the job's own pieces came home all the same (the one in place of the link at home aside)
    expect(names.filter((n) => Fs.lstatSync(Path.join(local, n)).isFile()).length).toBeGreaterThan(0)
  }, 120_000)
})

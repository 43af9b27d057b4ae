// jobs as a library: an Effect program that embeds the Jobs service with `layer(home)` and drives real jobs
// through submit, wait, stop and the output and events Streams.
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { afterAll } from "vitest"
import { layer } from "../../adapters/mod.ts"
import { Jobs } from "../../core/mod.ts"
import { groupGone, scratch, started } from "../support/job_files.ts"

const tmp = scratch()
process.env.JOBS_TEST_SECRET = "s3cret"
afterAll(() => {
  delete process.env.JOBS_TEST_SECRET
  tmp.cleanup()
})

const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" }

const text = (chunks: Chunk.Chunk<Uint8Array>): string =>
  Buffer.concat(Chunk.toReadonlyArray(chunks).map((c) => Buffer.from(c))).toString("utf8")

describe("the Jobs service", () => {
  it.live(
    "gives a local job PATH, HOME, USER, LANG, TZ and TMPDIR of this process plus env; clearEnv gives it env alone",
    () => {
      const home = tmp.home()
      const envOf = (jobs: Jobs.Jobs, id: string) =>
        Effect.gen(function* () {
          yield* jobs.wait(id)
          const lines = text(yield* Stream.runCollect(jobs.output(id))).split("\0")
          return Object.fromEntries(
            lines.filter((l) => l !== "").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])
          )
        })
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job: based } = yield* jobs.submit({ command: ["env", "-0"], cwd: tmp.dir(), env: { GREETING: "hi" } })
        const got = yield* envOf(jobs, based.id)
        assert.strictEqual(got.GREETING, "hi")
        for (const name of Jobs.BASE_ENV) assert.strictEqual(got[name], process.env[name], name)
        // nothing else of this process
        assert.isUndefined(got.JOBS_TEST_SECRET)

        // process.env as it is (values may be undefined): everything of this process
        const { job: all } = yield* jobs.submit({ command: ["env", "-0"], cwd: tmp.dir(), env: process.env })
        assert.strictEqual((yield* envOf(jobs, all.id)).JOBS_TEST_SECRET, "s3cret")

        const { job: cleared } = yield* jobs.submit({
          command: ["/usr/bin/env", "-0"],
          cwd: tmp.dir(),
          env: { ONLY: "this", NOT: undefined },
          clearEnv: true
        })
        const only = yield* envOf(jobs, cleared.id)
        // the supervisor adds nothing a command would see but what it needs to run in the job's cwd
        assert.strictEqual(only.ONLY, "this")
        assert.isUndefined(only.PATH)
        assert.isUndefined(only.HOME)
        assert.isUndefined(only.NOT)
      }).pipe(Effect.provide(layer(home)))
    },
    30_000
  )

  it.live(
    "submits a job, waits for it, and streams its output and events",
    () => {
      const home = tmp.home()
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job, existing } = yield* jobs.submit({
          command: ["sh", "-c", "echo one; echo two"],
          cwd: tmp.dir(),
          env: {}
        })
        assert.isFalse(existing)
        assert.deepStrictEqual(job.command, ["sh", "-c", "echo one; echo two"])

        const waited = yield* jobs.wait(job.id)
        assert.isTrue(Option.isSome(waited))
        const ended = Option.getOrThrow(waited)
        assert.strictEqual(ended.status, "completed")
        assert.strictEqual(ended.exitCode, 0)

        const output = yield* Stream.runCollect(jobs.output(job.id))
        assert.strictEqual(text(output), "one\ntwo\n")

        const events = yield* Stream.runCollect(jobs.events(job.id))
        assert.deepStrictEqual(
          Chunk.toReadonlyArray(events).map((e) => e.type),
          ["Submitted", "Started", "Exited"]
        )
        const exited = Chunk.toReadonlyArray(events).find((e) => e.type === "Exited")
        assert.deepInclude(exited, { job: job.id, code: 0, signal: null })

        // the same job as every other surface sees it
        const got = yield* jobs.get(job.id.slice(-8).toLowerCase())
        assert.deepInclude(got, { id: job.id, status: "completed", exitCode: 0 })
      }).pipe(Effect.provide(layer(home)))
    },
    30_000
  )

  it.live(
    "follows a running job's events to its end, and stops a job with its whole group",
    () => {
      const home = tmp.home()
      return Effect.gen(function* () {
        const jobs = yield* Jobs.Jobs
        const { job } = yield* jobs.submit({ command: ["sh", "-c", "sleep 300 & wait"], cwd: tmp.dir(), env })
        const { pgid } = yield* Effect.promise(() => started(home, job.id))

        // follow the events while the job is stopped: the stream ends by itself at Exited
        const followed = yield* Effect.fork(Stream.runCollect(jobs.events(job.id, { follow: true })))
        const stopped = yield* jobs.stop(job.id, { graceSecs: 1 })
        assert.isFalse(stopped.alreadyEnded)
        assert.strictEqual(stopped.job.status, "stopped")

        const events = Chunk.toReadonlyArray(yield* Fiber.join(followed))
        assert.deepStrictEqual(
          events.map((e) => e.type),
          ["Submitted", "Started", "StopRequested", "Exited"]
        )
        yield* Effect.promise(() => groupGone(pgid))

        const again = yield* jobs.stop(job.id)
        assert.isTrue(again.alreadyEnded)
      }).pipe(Effect.provide(layer(home)))
    },
    30_000
  )
})

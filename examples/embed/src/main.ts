import * as Os from "node:os"
import * as Path from "node:path"
import { Console, Effect, Option, Stream } from "effect"
import { JobState, Jobs, layer } from "jobs"

const program = Effect.gen(function* () {
  const jobs = yield* Jobs
  const { job } = yield* jobs.submit({
    command: ["sh", "-c", 'echo "building in $PWD"; sleep 1; echo done'],
    cwd: process.cwd(),
    env: { GREETING: "hello" }
  })
  // the output as it is written, until the job has ended
  yield* jobs.output(job.id, { follow: true }).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.runForEach((line) => Console.log(`[${job.shortId}] ${line}`))
  )
  const ended = yield* jobs.wait(job.id, { timeoutSecs: 60 })
  const code = Option.match(ended, { onNone: () => 124, onSome: JobState.waitExitCode })
  yield* Console.log(`job ${job.shortId} ended: exit code ${code}`)
  // the all-jobs feed (what `jobs events --all --follow` prints), here for this job only, from its first event
  // until its end; each item carries a cursor to resume from after a restart
  const types = yield* jobs.feed({ follow: true, since: { _tag: "Start" }, jobs: [job.id] }).pipe(
    Stream.takeUntil((item) => item.event.type === "Exited"),
    Stream.map((item) => item.event.type),
    Stream.runCollect
  )
  yield* Console.log(`events: ${[...types].join(" ")}`)
  return code
})

const home = process.env.JOBS_HOME ?? Path.join(Os.homedir(), ".jobs")
process.exitCode = await Effect.runPromise(program.pipe(Effect.provide(layer(home))))

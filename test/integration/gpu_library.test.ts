// RemoteJob as an Effect app uses it: exactly one of ssh / nodeId / provision (else a typed error); `run` scoped
// (logs as a Stream of lines, wait, download, and the instance released on leaving the scope); `start` detached; an
// instance we already hold (nodeId) used and kept.
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll } from "vitest"
import * as Emulator from "../../adapters/gpu/emulator.ts"
import { RemoteJob } from "../../adapters/gpu/mod.ts"
import * as Providers from "../../adapters/gpu/providers.ts"
import { layer } from "../../adapters/mod.ts"
import { Jobs } from "../../core/mod.ts"
import * as Provider from "../../core/provider.ts"
import { BIN, tempDir } from "../support/cli.ts"
import { scratch } from "../support/job_files.ts"
import * as Sshd from "../support/sshd.ts"

const tmp = scratch()
const inCi = process.env.CI !== undefined
const can = Sshd.available()
if (!can && !inCi) console.warn("SKIPPING RemoteJob tests: install openssh-server and rsync")
let emulator: Emulator.Emulator | undefined

const alive = async () =>
  ((await (await fetch(`${emulator!.url}/_admin/instances`)).json()) as any).instances.filter((i: any) => i.alive)

beforeAll(async () => {
  if (!can && !inCi) return
  emulator = await Emulator.start({ stepMs: 100 })
  const clientHome = tempDir("jobs-gpu-lib-")
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
  // the keeper is a process of its own: it runs the built bin, with this environment
  Object.assign(process.env, Emulator.environment(emulator), {
    HOME: clientHome,
    JOBS_BIN: BIN,
    JOBS_GPU_POLL_MS: "200",
    JOBS_GPU_RETRY_BASE_MS: "50",
    JOBS_GPU_GUARD_GRACE: "1",
    JOBS_GPU_GUARD_HOLD: "3"
  })
  delete process.env.SSH_AUTH_SOCK
})
afterAll(async () => {
  try {
    if (emulator !== undefined) assert.deepStrictEqual(await alive(), [])
  } finally {
    // closing ends whatever is left (its sshd, the jobs on it), whatever the assertion said
    await emulator?.close()
    tmp.cleanup()
  }
})

describe("RemoteJob", () => {
  it.effect("is exactly one of ssh, nodeId and provision", () =>
    Effect.gen(function* () {
      const none = yield* Effect.flip(RemoteJob.make({ command: "true" }))
      assert.strictEqual(none._tag, "InvalidRemoteJob")
      assert.strictEqual(
        none.message,
        "Cannot make a remote job: give exactly one of ssh, nodeId and provision (none given)"
      )
      const two = yield* Effect.flip(RemoteJob.make({ ssh: "root@gpu:22", provision: {}, command: "true" }))
      assert.match(two.message, /\(2 given\)$/)
      const badNode = yield* Effect.flip(RemoteJob.make({ nodeId: "abc123", command: "true" }))
      assert.match(badNode.message, /nodeId "abc123" is not provider:instanceId/)
      const ok = yield* RemoteJob.make({ provision: { type: "A100" }, bootstrap: ["a", "b"], command: "true" })
      assert.strictEqual(ok.config.command, "true")
    })
  )

  it.live.skipIf(!can && !inCi)(
    "run: a Stream of log lines, wait, download, and the instance released on leaving the scope",
    () => {
      const home = tmp.home()
      const workspace = tmp.dir()
      Fs.writeFileSync(Path.join(workspace, "data.txt"), "input\n")
      return Effect.gen(function* () {
        const job = yield* RemoteJob.make({
          provision: { type: "A100", providers: ["runpod"] },
          bootstrap: ["echo step one", "echo step two"],
          command:
            "cat ../data.txt; echo hello from the node; mkdir -p out && echo 42 > out/answer && ln -s /etc/passwd out/leak && ln -s ../.. out/up",
          workingDir: "sub",
          workspace,
          env: { TOKEN: "t0k3n" },
          timeout: 600
        })
        Fs.mkdirSync(Path.join(workspace, "sub"))
        const code = yield* Effect.scoped(
          Effect.gen(function* () {
            const handle = yield* job.run
            assert.match(handle.sessionName, /^jobs-[0-9a-z]{8}$/)
            const lines = Chunk.toReadonlyArray(yield* Stream.runCollect(handle.logs))
            assert.includeMembers([...lines], ["step one", "step two", "input", "hello from the node"])
            const code = yield* handle.wait()
            yield* handle.download("./sub/out", "back/")
            assert.strictEqual(Fs.readFileSync(Path.join(workspace, "back", "out", "answer"), "utf8"), "42\n")
            // links the node made that lead out of the copy are not recreated here
            assert.deepStrictEqual(Fs.readdirSync(Path.join(workspace, "back", "out")), ["answer"])
            return code
          })
        )
        assert.strictEqual(code, 0)
        assert.deepStrictEqual(yield* Effect.promise(alive), [])
      }).pipe(Effect.provide(layer(home)))
    },
    120_000
  )

  it.live.skipIf(!can && !inCi)(
    "a job whose keeper died before it had an instance: following its output, events and logs ends (interrupted)",
    () => {
      const home = tmp.home()
      return Effect.gen(function* () {
        // every request to RunPod answers 429 for a minute: the keeper is still asking when it is killed
        yield* Effect.promise(() =>
          fetch(`${emulator!.url}/_admin/faults`, {
            method: "POST",
            body: JSON.stringify({ rateLimit: { runpod: { count: 1000, retryAfterSecs: 60 } } })
          })
        )
        const job = yield* RemoteJob.make({
          provision: { type: "A100", providers: ["runpod"] },
          command: "echo never",
          workspace: tmp.dir()
        })
        const { jobId } = yield* job.start
        const jobs = yield* Jobs.Jobs
        // followed from here (RemoteJob's handle.logs is this output stream, in lines) and, by `jobs logs -f`, from
        // another process; then its keeper dies
        const output = yield* Effect.fork(
          Effect.timeoutOption(Stream.runCollect(jobs.output(jobId, { follow: true })), "40 seconds")
        )
        const events = yield* Effect.fork(
          Effect.timeoutOption(Stream.runCollect(jobs.events(jobId, { follow: true })), "40 seconds")
        )
        const cli = ChildProcess.spawn(process.execPath, ["--", BIN, "logs", "-f", jobId], {
          env: { ...process.env, JOBS_HOME: home },
          stdio: "ignore"
        })
        const cliEnded = new Promise<number | null>((resolve) => cli.once("exit", (code) => resolve(code)))
        yield* Effect.addFinalizer(() => Effect.sync(() => cli.kill("SIGKILL")))
        yield* Effect.sleep("2 seconds")
        const keeper = Number(Fs.readFileSync(Path.join(home, "jobs", jobId, "keeper"), "utf8").split(" ")[0])
        process.kill(keeper, "SIGKILL")
        assert.isTrue(Option.isSome(yield* Fiber.join(output)), "jobs.output(follow) did not end")
        const followed = yield* Fiber.join(events)
        assert.isTrue(Option.isSome(followed), "jobs.events(follow) did not end")
        assert.strictEqual(Chunk.toReadonlyArray(Option.getOrThrow(followed)).at(-1)?.type, "Interrupted")
        assert.strictEqual((yield* jobs.get(jobId)).status, "interrupted")
        const code = yield* Effect.timeoutOption(
          Effect.promise(() => cliEnded),
          "30 seconds"
        )
        assert.deepStrictEqual(code, Option.some(0), "jobs logs -f did not end")
      }).pipe(
        Effect.scoped,
        Effect.ensuring(
          Effect.promise(() =>
            fetch(`${emulator!.url}/_admin/faults`, { method: "POST", body: JSON.stringify({ rateLimit: {} }) })
          )
        ),
        Effect.provide(layer(home))
      )
    },
    120_000
  )

  it.live.skipIf(!can && !inCi)(
    "nodeId: runs on an instance we hold, keeps it (keepAlive), and terminate ends it",
    () => {
      const home = tmp.home()
      return Effect.gen(function* () {
        const runpod = Providers.make("runpod")
        const [offer] = yield* runpod.offers(Provider.query({ type: "4090", providers: ["runpod"] }))
        const key = Fs.readFileSync(Path.join(process.env.HOME!, ".ssh", "id_ed25519.pub"), "utf8")
        const created = yield* runpod.create({
          offer: offer!,
          name: "held-by-me",
          publicKey: key,
          query: Provider.query(),
          image: "img"
        })
        const job = yield* RemoteJob.make({
          nodeId: `runpod:${created.id}`,
          command: ["echo", "on my node"],
          workspace: tmp.dir(),
          keepAlive: true
        })
        // detached: comes back with what is needed to find the job again
        const started = yield* job.start
        assert.match(started.sessionName, /^jobs-[0-9a-z]{8}$/)
        const jobs = yield* Jobs.Jobs
        const first = yield* jobs.wait(started.jobId, { timeoutSecs: 60 })
        assert.strictEqual(Option.getOrThrow(first).status, "completed")
        // scoped, on the same node: the handle is used inside the scope
        const handle = yield* Effect.scoped(
          Effect.gen(function* () {
            const handle = yield* job.run
            assert.strictEqual(yield* handle.wait(60), 0)
            return handle
          })
        )
        // kept: still alive after the scope
        yield* Effect.sleep("1 second")
        assert.strictEqual((yield* Effect.promise(alive)).length, 1)
        yield* handle.terminate
        assert.deepStrictEqual(yield* Effect.promise(alive), [])
      }).pipe(Effect.provide(layer(home)))
    },
    120_000
  )
})

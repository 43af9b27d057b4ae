// A RemoteJob on a GPU instance of the emulator (the RunPod, Lambda and Vast APIs on loopback, a real sshd per
// instance): provisioned, run, streamed, waited for and released. Needs sshd, rsync and a key in ~/.ssh.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Console, Effect, Stream } from "effect"
import { layer } from "jobs"
import { RemoteJob } from "jobs/gpu"
import { Emulator } from "jobs/gpu/emulator"

const emulator = await Emulator.start({ stepMs: 100 })
// the provider clients (here, and in the job's keeper) talk to the emulator
Object.assign(process.env, Emulator.environment(emulator))

const workspace = Fs.mkdtempSync(Path.join(Os.tmpdir(), "embed-workspace-"))
Fs.writeFileSync(Path.join(workspace, "train.py"), "print('training')\n")

const program = Effect.scoped(
  Effect.gen(function* () {
    const remote = yield* RemoteJob.make({
      provision: { type: "A100", providers: ["runpod"] },
      bootstrap: "echo bootstrapped",
      command: "cat train.py && echo hello from the node",
      workspace,
      timeout: 600
    })
    const handle = yield* remote.run
    yield* Stream.runForEach(handle.logs, (line) => Console.log(`[gpu] ${line}`))
    const code = yield* handle.wait()
    yield* Console.log(`remote job ended: exit code ${code}`)
    return code
  })
)

const home = process.env.JOBS_HOME ?? Path.join(Os.homedir(), ".jobs")
try {
  process.exitCode = await Effect.runPromise(program.pipe(Effect.provide(layer(home))))
} finally {
  await emulator.close()
  Fs.rmSync(workspace, { recursive: true, force: true })
}

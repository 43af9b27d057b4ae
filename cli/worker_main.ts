// The bundle of the SSH commands (dist/worker.cjs): `jobs worker ...`, and the internal `jobs __ssh WORKER ...`
// that rsync uses as its remote shell, so that pushes ride the same SSH stack (config, host keys, auth).
import * as Command from "@effect/cli/Command"
import * as Mux from "../adapters/ssh_mux.ts"
import * as Home from "../core/home.ts"
import * as Workers from "../core/workers.ts"
import * as Worker from "./commands/worker.ts"
import * as Runner from "./runner.ts"

const root = Command.make("jobs").pipe(Command.withSubcommands([Worker.command]))

/**
 * `jobs __ssh WORKER HOST COMMAND...`, as rsync calls its remote shell: runs COMMAND on the worker (HOST, which
 * rsync adds, is ignored: the worker names the host) with stdin, stdout and stderr piped, and exits with its code.
 */
const pipe = async (args: ReadonlyArray<string>): Promise<number> => {
  const [, name, , ...command] = args
  // a registered worker, or `gpu:<job id>` (a GPU job's instance)
  const worker = name === undefined ? undefined : Workers.find(Home.layout(Home.resolve(undefined)), name)
  if (worker === undefined || command.length === 0) {
    process.stderr.write(`${Workers.pipeFailure(name ?? "", "no such worker")}\n`)
    return 255
  }
  try {
    const client = await Mux.open(Home.layout(Home.resolve(undefined)), worker)
    return await new Promise<number>((resolve, reject) => {
      client.exec(command.join(" "), (err, stream) => {
        if (err !== undefined && err !== null) return reject(err)
        process.stdin.pipe(stream)
        stream.pipe(process.stdout)
        stream.stderr.pipe(process.stderr)
        stream.on("close", (code: number | null) => {
          client.end()
          resolve(code ?? 255)
        })
      })
    })
  } catch (e) {
    process.stderr.write(`${Workers.pipeFailure(name ?? "", e instanceof Error ? e.message : String(e))}\n`)
    return 255
  }
}

/** `jobs __mux WORKER`: holds a shared connection to the worker for the commands that follow (ssh_mux.ts). */
const hold = async (name: string | undefined): Promise<number> => {
  const layout = Home.layout(Home.resolve(undefined))
  const worker = name === undefined ? undefined : Workers.find(layout, name)
  if (worker === undefined) return 2
  try {
    return await Mux.hold(layout, worker)
  } catch {
    return 1
  }
}

/** Runs `jobs worker ...`, or the internal `__ssh` pipe and `__mux` holder. */
export const main = (args: ReadonlyArray<string>, version: string): Promise<number> =>
  args.includes("__ssh")
    ? pipe(args.slice(args.indexOf("__ssh")))
    : args.includes("__mux")
      ? hold(args[args.indexOf("__mux") + 1])
      : Runner.run(root, args, version)

// The bundle of the SSH commands (dist/worker.cjs): `jobs worker ...`, and the internal `jobs __ssh WORKER ...`
// that rsync uses as its remote shell, so that pushes ride the same SSH stack (config, host keys, auth).
import * as Command from "@effect/cli/Command"
import * as Ssh from "../adapters/ssh.ts"
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
    process.stderr.write(`Cannot open an SSH pipe to worker "${name}": no such worker\n`)
    return 255
  }
  try {
    const client = await Ssh.connect(worker.connection, {
      ...(worker.knownHostsFile === undefined ? {} : { knownHostsFile: worker.knownHostsFile, acceptNewHostKey: true })
    })
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
    process.stderr.write(`Cannot open an SSH pipe to worker "${name}": ${e instanceof Error ? e.message : String(e)}\n`)
    return 255
  }
}

/** Runs `jobs worker ...` or the internal `__ssh` pipe. */
export const main = (args: ReadonlyArray<string>, version: string): Promise<number> =>
  args.includes("__ssh") ? pipe(args.slice(args.indexOf("__ssh"))) : Runner.run(root, args, version)

// jobs as a dependency, as an app's author meets it: the packed tarball passes publint and arethetypeswrong, installs
// into a copy of examples/embed (its own package.json and strict tsconfig), type-checks there with and without
// exactOptionalPropertyTypes, and the example's programs run with plain `node`: a local job submitted, its output
// streamed, waited for; a RemoteJob on the GPU emulator. Nothing is set in their environment but HOME (the README's
// `~/.ssh` key and `~/.jobs`).
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tempDir } from "../support/cli.ts"
import * as Sshd from "../support/sshd.ts"

const ROOT = Path.resolve(import.meta.dirname, "../..")
const BIN_DIR = Path.join(ROOT, "node_modules/.bin")
const inCi = process.env.CI !== undefined
const gpu = Sshd.available()
if (!gpu && !inCi) console.warn("SKIPPING the example's RemoteJob: install openssh-server and rsync")

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to its end without blocking the event loop. */
const run = (
  file: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number }
): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000)
    child.once("error", reject)
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

const ok = async (ran: Promise<Ran>, what: string): Promise<Ran> => {
  const r = await ran
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`)
  return r
}

const tmp = tempDir("jobs-embed-")
const app = Path.join(tmp, "app")
const home = Path.join(tmp, "home")
let tarball = ""
/** `npm install` in the copy of the example, started as soon as the tarball is there (it takes the longest). */
let installed: Promise<Ran> = Promise.resolve({ code: 1, stdout: "", stderr: "not started" })
/** What the example's programs get: this environment without anything of jobs, and a HOME of their own. */
const appEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("JOBS_") || k.endsWith("_API_KEY") || k.endsWith("_API_URL") || k === "SSH_AUTH_SOCK") continue
    if (k.startsWith("npm_") || k === "NODE_OPTIONS" || k.startsWith("VITEST")) continue
    env[k] = v
  }
  return { ...env, HOME: home }
}

beforeAll(async () => {
  if (!Fs.existsSync(Path.join(ROOT, "dist/lib/mod.js")) || !Fs.existsSync(Path.join(ROOT, "dist/types/lib"))) {
    throw new Error("dist/lib and dist/types are missing: run `npm run build` first")
  }
  // the build is already there (npm test builds first): pack it as it is
  const packed = await ok(
    run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: ROOT }),
    "npm pack"
  )
  tarball = Path.join(tmp, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename)
  Fs.cpSync(Path.join(ROOT, "examples/embed"), app, {
    recursive: true,
    filter: (source) => !/\/(node_modules|build)$/.test(source)
  })
  const manifest = JSON.parse(Fs.readFileSync(Path.join(app, "package.json"), "utf8"))
  expect(manifest.dependencies.jobs).toBe(`file:../../${Path.basename(tarball)}`)
  manifest.dependencies.jobs = `file:${tarball}`
  Fs.writeFileSync(Path.join(app, "package.json"), JSON.stringify(manifest, null, 2))
  Fs.mkdirSync(Path.join(home, ".ssh"), { recursive: true, mode: 0o700 })
  if (gpu) {
    await ok(
      run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", Path.join(home, ".ssh", "id_ed25519")], { cwd: tmp }),
      "ssh-keygen"
    )
  }
  installed = run("npm", ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"], {
    cwd: app,
    timeoutMs: 240_000
  })
}, 120_000)

afterAll(() => Fs.rmSync(tmp, { recursive: true, force: true }))

describe("the packed package", () => {
  it("passes publint and arethetypeswrong (ESM only: node16 from ESM and bundlers)", async () => {
    const [lint, types] = await Promise.all([
      run(Path.join(BIN_DIR, "publint"), ["run", tarball, "--strict"], { cwd: tmp }),
      run(Path.join(BIN_DIR, "attw"), [tarball, "--profile", "esm-only", "--format", "ascii"], { cwd: tmp })
    ])
    expect(lint.code, lint.stdout + lint.stderr).toBe(0)
    expect(lint.stdout).toContain("All good!")
    expect(types.code, types.stdout + types.stderr).toBe(0)
    for (const entry of ['"jobs"', '"jobs/events"', '"jobs/gpu"', '"jobs/gpu/emulator"']) {
      expect(types.stdout).toContain(entry)
    }
  }, 120_000)

  it("ships the built entry points and the bin, no sources, no tests, no ?raw import", async () => {
    const listed = await ok(run("tar", ["-tzf", tarball], { cwd: tmp }), "tar")
    const files = listed.stdout.trim().split("\n")
    expect(files).toContain("package/dist/jobs.cjs")
    expect(files).toContain("package/dist/lib/mod.js")
    expect(files).toContain("package/dist/types/lib/mod.d.ts")
    expect(files.filter((f) => /^package\/(test|core|adapters|cli|events|lib)\/.*\.ts$/.test(f))).toEqual([])
    expect(files.filter((f) => f.includes(".test."))).toEqual([])
    await ok(run("tar", ["-xzf", tarball, "-C", tmp], { cwd: tmp }), "tar")
    for (const file of Fs.readdirSync(Path.join(tmp, "package/dist/lib"))) {
      expect(Fs.readFileSync(Path.join(tmp, "package/dist/lib", file), "utf8")).not.toMatch(/\?raw/)
    }
  })
})

describe("examples/embed", () => {
  it("is what the README's library section shows", () => {
    const readme = Fs.readFileSync(Path.join(ROOT, "README.md"), "utf8")
    const section = readme.slice(readme.indexOf("## As a library (Effect)"))
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
    expect(snippet).toBe(Fs.readFileSync(Path.join(ROOT, "examples/embed/src/main.ts"), "utf8"))
  })

  it("installs the tarball, type-checks under strict with and without exactOptionalPropertyTypes, and runs", async () => {
    await ok(installed, "npm install")
    const tsc = Path.join(app, "node_modules/.bin/tsc")
    // the example's own tsconfig (strict, exactOptionalPropertyTypes, no skipLibCheck: the package's declarations are
    // checked too) builds it; the same sources check without exactOptionalPropertyTypes
    const [exact, loose] = await Promise.all([
      run(tsc, ["-p", "."], { cwd: app }),
      run(tsc, ["-p", ".", "--noEmit", "--exactOptionalPropertyTypes", "false", "--skipLibCheck"], { cwd: app })
    ])
    expect(exact.code, exact.stdout).toBe(0)
    expect(loose.code, loose.stdout).toBe(0)

    const local = await run(process.execPath, ["build/main.js"], { cwd: app, env: appEnv(), timeoutMs: 60_000 })
    expect(local.code, local.stderr).toBe(0)
    const lines = local.stdout.trim().split("\n")
    const id = /^\[([0-9a-z]{8})\]/.exec(lines[0] ?? "")?.[1]
    expect(lines).toEqual([
      `[${id}] building in ${Fs.realpathSync(app)}`,
      `[${id}] done`,
      `job ${id} ended: exit code 0`,
      "events: Submitted Started Exited"
    ])
    // the job is in ~/.jobs, as `jobs` itself (the package's bin) sees it
    const listed = await ok(
      run(Path.join(app, "node_modules/.bin/jobs"), ["status", id!, "--json"], { cwd: app, env: appEnv() }),
      "jobs status"
    )
    expect(JSON.parse(listed.stdout)).toMatchObject({ shortId: id, status: "completed", exitCode: 0 })

    if (!gpu && !inCi) return
    const remote = await run(process.execPath, ["build/gpu.js"], { cwd: app, env: appEnv(), timeoutMs: 120_000 })
    expect(remote.code, remote.stdout + remote.stderr).toBe(0)
    expect(remote.stdout.trim().split("\n")).toEqual([
      "[gpu] bootstrapped",
      "[gpu] print('training')",
      "[gpu] hello from the node",
      "remote job ended: exit code 0"
    ])
  }, 300_000)
})

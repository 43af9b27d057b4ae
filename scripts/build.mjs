// Builds the `jobs` bin as bundled CommonJS files (dist/jobs.cjs and the bundles it loads), the library's entry points
// as ESM with their declarations (dist/lib/*.js, dist/types/), and with --schema writes events/schema.json from the
// event schema.

import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"

const root = Path.dirname(Path.dirname(fileURLToPath(import.meta.url)))
const dist = Path.join(root, "dist")

// `import text from "./file?raw"` (what vitest understands) becomes the file's text in the bundle
const raw = {
  name: "raw",
  setup(build) {
    build.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: Path.resolve(args.resolveDir, args.path.slice(0, -4)),
      namespace: "raw"
    }))
    build.onLoad({ filter: /.*/, namespace: "raw" }, (args) => ({
      contents: Fs.readFileSync(args.path, "utf8"),
      loader: "text"
    }))
  }
}

const bundle = (entry, outfile, extra = {}) =>
  esbuild
    .build({
      entryPoints: [Path.join(root, entry)],
      outfile,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      minifySyntax: true,
      minifyWhitespace: true,
      legalComments: "none",
      logLevel: "warning",
      plugins: [raw],
      // ssh2's optional native parts: it requires them in try/catch and falls back to JavaScript without them
      external: ["cpu-features", "*.node"],
      metafile: process.argv.includes("--meta"),
      ...extra,
      // where the helper executable (dist/jobs.cjs) is found from the code that spawns it (adapters/helper.ts)
      // (in a CJS bundle from __dirname: import.meta has no url there)
      define: { JOBS_BUNDLE: '"cjs"', "import.meta.url": "undefined", ...extra.define }
    })
    .then((result) => {
      // --meta: what each bundle is made of, for start-up work
      if (result.metafile) Fs.writeFileSync(`${outfile}.meta.json`, JSON.stringify(result.metafile))
    })

/**
 * The library's entry points (package.json `exports`) as ESM that shares its chunks, with what the package depends
 * on left to the app's own install (one copy of Effect), and their declarations from tsc (tsconfig.build.json).
 */
async function library(pkg) {
  const out = Path.join(dist, "lib")
  Fs.rmSync(out, { recursive: true, force: true })
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]
  await esbuild.build({
    entryPoints: ["mod", "events", "gpu", "gpu_emulator"].map((name) => Path.join(root, "lib", `${name}.ts`)),
    outdir: out,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "warning",
    plugins: [raw],
    external: [...external.flatMap((name) => [name, `${name}/*`]), "cpu-features", "*.node"],
    define: { JOBS_BUNDLE: JSON.stringify("esm") }
  })
  if (process.argv.includes("--no-types")) return
  const types = Path.join(dist, "types")
  Fs.rmSync(types, { recursive: true, force: true })
  execFileSync(process.execPath, [Path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit"
  })
  // the sources import each other as `.ts` (tsconfig's rewriteRelativeImportExtensions); their declarations are
  // read by apps whose compiler does not allow that
  for (const file of Fs.readdirSync(types, { recursive: true })) {
    if (!file.endsWith(".d.ts")) continue
    const path = Path.join(types, file)
    const text = Fs.readFileSync(path, "utf8")
    Fs.writeFileSync(path, text.replace(/((?:from |import\()["']\.{1,2}\/[^"']*)\.ts(["'])/g, "$1.js$2"))
  }
}

if (process.argv.includes("--schema")) {
  const tmp = Path.join(dist, "schema.cjs")
  await bundle("scripts/schema_entry.ts", tmp)
  const { render, renderContract } = (await import(tmp)).default
  Fs.writeFileSync(Path.join(root, "events/schema.json"), render())
  const dir = Path.join(root, "cli/schemas")
  Fs.mkdirSync(dir, { recursive: true })
  for (const [file, text] of Object.entries(renderContract())) Fs.writeFileSync(Path.join(dir, file), text)
  console.log("wrote events/schema.json and cli/schemas/*.schema.json")
} else {
  Fs.mkdirSync(dist, { recursive: true })
  const pkg = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8"))
  const bin = Path.join(dist, "jobs.cjs")
  await Promise.all([
    bundle("cli/bin.ts", bin, {
      // `--` keeps Node 20 from taking our `--env-file` flag for its own (it reads it anywhere in argv)
      banner: { js: "#!/usr/bin/env -S node --" },
      define: { JOBS_VERSION: JSON.stringify(pkg.version) }
    }),
    bundle("cli/fast_run.ts", Path.join(dist, "run.cjs")),
    bundle("cli/main.ts", Path.join(dist, "cli.cjs")),
    bundle("cli/mcp.ts", Path.join(dist, "mcp.cjs")),
    bundle("cli/serve.ts", Path.join(dist, "serve.cjs")),
    bundle("cli/worker_main.ts", Path.join(dist, "worker.cjs")),
    bundle("cli/gpu_main.ts", Path.join(dist, "gpu.cjs")),
    bundle("cli/complete_main.ts", Path.join(dist, "complete.cjs")),
    bundle("scripts/completion_spec_entry.ts", Path.join(dist, "completion_spec.cjs"))
  ])
  Fs.chmodSync(bin, 0o755)
  // shell completion's command tree (every bundle's commands) and static lists, read by `jobs __complete`
  const specEntry = Path.join(dist, "completion_spec.cjs")
  const { render: renderSpec } = (await import(specEntry)).default
  Fs.writeFileSync(Path.join(dist, "completion_spec.json"), renderSpec())
  Fs.rmSync(specEntry)
  // the man page, from the same descriptors as --help
  const manEntry = Path.join(dist, "man.cjs")
  await bundle("scripts/man_entry.ts", manEntry)
  Fs.writeFileSync(Path.join(dist, "jobs.1"), (await import(manEntry)).default.render(pkg.version))
  Fs.rmSync(manEntry)
  await library(pkg)
  // V8 code caches: compiling 1 MB of JavaScript is a third of start-up without them
  for (const f of Fs.readdirSync(dist)) if (f.endsWith(".cache")) Fs.rmSync(Path.join(dist, f))
  const scratch = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobs-build-"))
  const env = { ...process.env, JOBS_WRITE_CODE_CACHE: "1", JOBS_HOME: scratch }
  delete env.NODE_OPTIONS
  try {
    execFileSync(process.execPath, [bin], { env, cwd: scratch, stdio: "ignore" })
  } finally {
    Fs.rmSync(scratch, { recursive: true, force: true })
  }
}

// Builds the `jobs` bin as one bundled CommonJS file (dist/jobs.cjs), and with --schema writes
// events/schema.json from the event schema.

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
      ...extra
    })
    .then((result) => {
      // --meta: what each bundle is made of, for start-up work
      if (result.metafile) Fs.writeFileSync(`${outfile}.meta.json`, JSON.stringify(result.metafile))
    })

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

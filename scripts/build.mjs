// Builds the `jobs` bin as one bundled CommonJS file (dist/jobs.cjs), and with --schema writes
// events/schema.json from the event schema.

import * as Fs from "node:fs"
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
  esbuild.build({
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
    ...extra
  })

if (process.argv.includes("--schema")) {
  const tmp = Path.join(dist, "schema.cjs")
  await bundle("scripts/schema_entry.ts", tmp)
  const { render } = (await import(tmp)).default
  Fs.writeFileSync(Path.join(root, "events/schema.json"), render())
  console.log("wrote events/schema.json")
} else {
  Fs.mkdirSync(dist, { recursive: true })
  await bundle("cli/bin.ts", Path.join(dist, "jobs.cjs"), { banner: { js: "#!/usr/bin/env node" } })
  Fs.chmodSync(Path.join(dist, "jobs.cjs"), 0o755)
}

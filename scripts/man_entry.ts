// Entry for the build's man page: the main command tree and the trees of the worker and gpu bundles, rendered by
// the same code as `--help` (cli/help.ts), so the man page and the help never drift apart.
import * as Gpu from "../cli/commands/gpu.ts"
import * as Worker from "../cli/commands/worker.ts"
import * as Help from "../cli/help.ts"
import { root } from "../cli/main.ts"

/** `jobs.1` as roff. */
export const render = (version: string): string =>
  Help.manPage(
    Help.describe(root),
    [{ ...Help.describe(root), children: [Help.describe(Worker.command), Help.describe(Gpu.command)] }],
    version
  )

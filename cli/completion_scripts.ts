// The completion scripts of bash, zsh and fish (cli/completion/), for both names of the program: `job`, and `jobs`,
// which is also a shell builtin. They only pass the words typed to `job __complete` and show its answer
// (cli/completion.ts): a first line (values, files, dirs or `command N`), then `value<TAB>description` lines.
import zsh from "./completion/_job?raw"
import bash from "./completion/job.bash?raw"
import fish from "./completion/job.fish?raw"

/** The shells there is a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const
export type Shell = (typeof SHELLS)[number]

/** Whether a word names one of SHELLS. */
export const isShell = (name: string): name is Shell => (SHELLS as ReadonlyArray<string>).includes(name)

/** The completion script of a shell. */
export const script = (shell: Shell): string => (shell === "bash" ? bash : shell === "zsh" ? zsh : fish)

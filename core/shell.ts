// The one way a value enters a shell command line (local `sh -c`, a worker's or an instance's login shell over SSH,
// a batch script): as a single-quoted word that stands for its bytes exactly, whatever they are.

/**
 * A word for POSIX sh that stands for `value` exactly: single quotes, with each `'` as `'\''`. Every other byte
 * (`$`, `` ` ``, `\`, `"`, newlines, bytes that are not UTF-8) is literal inside single quotes. A NUL cannot be
 * passed through any shell word (C strings end there): callers refuse values that hold one.
 *
 * @example
 * Shell.quote("it's") // 'it'\''s'
 */
export const quote = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`

/**
 * A path under a remote home as a shell word on that host: `~` and `~/x` become `"$HOME"` and `"$HOME"/'x'`
 * (the remote shell expands HOME, nothing else), any other path is quoted whole.
 *
 * @example
 * Shell.homePath("~/.jobs", "jobs", id) // "$HOME"/'.jobs/jobs/01J...'
 */
export const homePath = (remoteHome: string, ...parts: ReadonlyArray<string>): string => {
  const rest = parts.join("/")
  const full = rest === "" ? remoteHome : `${remoteHome.replace(/\/+$/, "")}/${rest}`
  return full === "~" ? '"$HOME"' : full.startsWith("~/") ? `"$HOME"/${quote(full.slice(2))}` : quote(full)
}

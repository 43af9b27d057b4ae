// 5. tmux: how long until `jobs run --tmux -- true` returns, beside a bare `tmux new-session -d true`, with the
// tmux server already running (warm) and without one (cold: the call starts it).

import * as Path from "node:path"
import { capture, env, jobs, ms, ratio, runs, stats, table, tempDir, timeOnce, which } from "./lib.mjs"

export const name = "tmux"

export const run = async ({ log }) => {
  if (which("tmux") === null) return "## tmux\n\ntmux is not installed (apt-get install tmux): skipped."
  const n = runs(20)
  const home = tempDir("jobs-bench-tmux-home-")
  const bare = Path.join(tempDir("jobs-bench-tmux-bare-"), "sock")
  const jobsSock = Path.join(home, "tmux.sock")
  const jobsEnv = env({ JOBS_HOME: home })
  const killServer = (sock) => capture(["tmux", "-S", sock, "kill-server"], { allowFail: true })
  const keep = (sock) =>
    capture(["tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-s", "keep", "sleep 600"])
  const rows = { jobsWarm: [], jobsCold: [], bareWarm: [], bareCold: [] }
  const time = (key, argv, options) => {
    const t = timeOnce(argv, options)
    if (t.ok) rows[key].push(t.ms)
    else log(`  ${key}: ${t.why}`)
  }
  try {
    for (let i = 0; i < n; i++) {
      killServer(jobsSock)
      time("jobsCold", jobs("run", "--tmux", "--", "true"), { env: jobsEnv })
      time("jobsWarm", jobs("run", "--tmux", "--", "true"), { env: jobsEnv })
      killServer(bare)
      time("bareCold", ["tmux", "-S", bare, "-f", "/dev/null", "new-session", "-d", "true"], {})
      keep(bare)
      time("bareWarm", ["tmux", "-S", bare, "-f", "/dev/null", "new-session", "-d", "true"], {})
      if ((i + 1) % 10 === 0) log(`  ${i + 1}/${n}`)
    }
  } finally {
    killServer(jobsSock)
    killServer(bare)
  }
  const s = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, stats(v)]))
  const line = (label, st, ref) => [label, ms(st.median), ms(st.p90), ms(st.min), ratio(st.median, ref.median), st.n]
  return [
    "## tmux",
    "",
    "Wall time until the command returns; `jobs` starts the supervisor in a new session of its home's own tmux " +
      "server and sets the status bar. Cold: the server was killed just before, so the call starts it.",
    "",
    table(
      ["command", "median ms", "p90 ms", "min ms", "× tmux alone", "runs"],
      [
        line("**`jobs run --tmux -- true`** (warm server)", s.jobsWarm, s.bareWarm),
        line("`tmux new-session -d true` (warm server)", s.bareWarm, s.bareWarm),
        line("**`jobs run --tmux -- true`** (cold server)", s.jobsCold, s.bareCold),
        line("`tmux new-session -d true` (cold server)", s.bareCold, s.bareCold)
      ]
    )
  ].join("\n")
}

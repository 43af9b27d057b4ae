// A private sshd for benchmarks and demos (run with vite-node): starts one, prints its facts as one JSON line, and
// stops it when stdin closes.
import * as Sshd from "./sshd.ts"

const server = await Sshd.start()
process.stdout.write(
  `${JSON.stringify({ port: server.port, clientHome: server.clientHome, hostKey: server.hostKey, dir: server.dir })}\n`
)
process.stdin.resume()
process.stdin.on("end", () => {
  server.stop()
  process.exit(0)
})

// Starts an in-memory PLC directory and Bluesky's reference PDS on 127.0.0.1, for Herald's
// tests. Usage: node start.mjs [PDS_PORT] [PLC_PORT]  (or env PDS_PORT / PLC_PORT).
// Prints one line "HERALD_PDS_READY pds=URL plc=URL" when both answer.
// It stops by itself: when stdin closes (with --stdin), or when the process named by
// HERALD_WATCH_PID (default: its parent) is gone, so a crashed test run leaves nothing behind.
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const pdsPort = Number(args[0] ?? process.env.PDS_PORT ?? 2583)
const plcPort = Number(args[1] ?? process.env.PLC_PORT ?? 2582)
const host = '127.0.0.1'

const { PlcServer, Database: PlcDatabase } = require('@did-plc/server')
const { PDS, envToCfg, envToSecrets, readEnv } = require('@atproto/pds')

const dataDir = mkdtempSync(join(tmpdir(), 'herald-pds-'))
let plc
let pds
let stopping = false

async function stop(code) {
  if (stopping) return
  stopping = true
  try {
    await pds?.destroy()
  } catch {}
  try {
    await plc?.destroy()
  } catch {}
  rmSync(dataDir, { recursive: true, force: true })
  process.exit(code)
}

async function main() {
  plc = PlcServer.create({ db: PlcDatabase.mock(), port: plcPort })
  // PlcServer.start() binds every interface; listen on loopback only instead.
  plc.server = plc.app.listen(plcPort, host)
  await new Promise((ok, fail) => plc.server.once('listening', ok).once('error', fail))

  Object.assign(process.env, {
    PDS_HOSTNAME: 'localhost',
    PDS_PORT: String(pdsPort),
    PDS_DEV_MODE: 'true',
    PDS_DATA_DIRECTORY: dataDir,
    PDS_BLOBSTORE_DISK_LOCATION: join(dataDir, 'blobs'),
    PDS_JWT_SECRET: randomBytes(16).toString('hex'),
    PDS_ADMIN_PASSWORD: process.env.PDS_ADMIN_PASSWORD ?? 'herald-admin',
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: randomBytes(32).toString('hex'),
    PDS_DID_PLC_URL: `http://${host}:${plcPort}`,
    PDS_INVITE_REQUIRED: 'false',
    PDS_CRAWLERS: '',
    PDS_RATE_LIMITS_ENABLED: 'false',
    LOG_ENABLED: process.env.LOG_ENABLED ?? 'false',
  })
  const env = readEnv()
  pds = await PDS.create(envToCfg(env), envToSecrets(env))
  // PDS.start() binds every interface; do its steps with a loopback listener.
  await pds.ctx.sequencer.start()
  pds.server = pds.app.listen(pdsPort, host)
  await new Promise((ok, fail) => pds.server.once('listening', ok).once('error', fail))

  const health = await fetch(`http://${host}:${pdsPort}/xrpc/_health`)
  if (!health.ok) throw new Error(`PDS health answered ${health.status}`)
  console.log(`HERALD_PDS_READY pds=http://${host}:${pdsPort} plc=http://${host}:${plcPort}`)
}

const watched = Number(process.env.HERALD_WATCH_PID || process.ppid)
setInterval(() => {
  try {
    process.kill(watched, 0)
  } catch {
    stop(0)
  }
}, 1000).unref()
if (process.argv.includes('--stdin')) {
  process.stdin.on('end', () => stop(0))
  process.stdin.on('close', () => stop(0))
  process.stdin.resume()
}
process.on('SIGTERM', () => stop(0))
process.on('SIGINT', () => stop(0))

main().catch((e) => {
  console.error('HERALD_PDS_FAILED', e)
  stop(1)
})

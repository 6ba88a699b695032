import { codeOf } from './fs-errors.js'

/**
 * Whether a process of this machine is running. `EPERM` means it exists (and belongs to someone else).
 * Only meaningful for a pid recorded on this host: another machine's or container's pids mean nothing here.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return codeOf(error) === 'EPERM'
  }
}

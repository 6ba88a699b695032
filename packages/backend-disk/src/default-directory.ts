import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where the cache lives when no `directory` is given:
 *
 * 1. `$RAPIDE_DISK_DIR` when set;
 * 2. `./node_modules/.cache/rapide/disk` when the working directory has a `node_modules`: the
 *    conventional home of tool caches, per project, already ignored by version control, and shared by
 *    every process of the app started from the same directory (the SQLite backend's file sits beside it,
 *    in `rapide/`);
 * 3. otherwise the user's cache directory: `$XDG_CACHE_HOME` or `~/.cache` (Linux), `~/Library/Caches`
 *    (macOS), `%LOCALAPPDATA%` (Windows), in `rapide/disk`.
 *
 * @example defaultDirectory() // '/srv/app/node_modules/.cache/rapide/disk'
 */
export function defaultDirectory(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  if (env.RAPIDE_DISK_DIR) return env.RAPIDE_DISK_DIR
  const nodeModules = join(cwd, 'node_modules')
  if (existsSync(nodeModules)) return join(nodeModules, '.cache', 'rapide', 'disk')
  return join(userCacheDirectory(env), 'rapide', 'disk')
}

function userCacheDirectory(env: NodeJS.ProcessEnv): string {
  if (env.XDG_CACHE_HOME) return env.XDG_CACHE_HOME
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches')
  if (process.platform === 'win32' && env.LOCALAPPDATA) return env.LOCALAPPDATA
  return join(homedir(), '.cache')
}

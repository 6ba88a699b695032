import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where the cache lives when no `path` is given:
 *
 * 1. `./node_modules/.cache/rapide/cache.sqlite` when the working directory has a `node_modules`: the
 *    conventional home of tool caches, per project, already ignored by version control, and shared by
 *    every process of the app started from the same directory;
 * 2. otherwise the user's cache directory: `$XDG_CACHE_HOME` or `~/.cache` (Linux), `~/Library/Caches`
 *    (macOS), `%LOCALAPPDATA%` (Windows), in a `rapide` folder.
 *
 * @example defaultDatabasePath() // '/srv/app/node_modules/.cache/rapide/cache.sqlite'
 */
export function defaultDatabasePath(cwd: string = process.cwd()): string {
  const nodeModules = join(cwd, 'node_modules')
  if (existsSync(nodeModules)) return join(nodeModules, '.cache', 'rapide', 'cache.sqlite')
  return join(userCacheDirectory(), 'rapide', 'cache.sqlite')
}

function userCacheDirectory(): string {
  const { env, platform } = process
  if (env.XDG_CACHE_HOME) return env.XDG_CACHE_HOME
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches')
  if (platform === 'win32' && env.LOCALAPPDATA) return env.LOCALAPPDATA
  return join(homedir(), '.cache')
}

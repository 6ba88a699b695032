import fs from 'node:fs'
import { hostname } from 'node:os'
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  createCache,
  RapideError,
} from '@rapide/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DiskBackend } from '../src/index.js'
import { bytes, groupFiles, scratch, text } from './helpers.js'

const { next } = scratch('errors')

afterEach(() => {
  vi.restoreAllMocks()
})

function systemError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated, ${syscall}`), { code, syscall, errno: -1 })
}

/** Makes `fs[name]` fail with `code` (for paths matching `when`), `times` times (default: always). */
function failing(
  name: 'writeFileSync' | 'renameSync' | 'linkSync' | 'openSync',
  code: string,
  times = Infinity,
  when = /./,
) {
  const real = fs[name] as (...args: unknown[]) => unknown
  let left = times
  return vi.spyOn(fs, name).mockImplementation(((...args: unknown[]) => {
    if (left > 0 && when.test(String(args[0]))) {
      left--
      throw systemError(code, name)
    }
    return real.apply(fs, args)
  }) as never)
}

describe('file-system failures become typed errors that say what to do', () => {
  it('ENOSPC on write: BackendError naming the full disk; the temp file is not left behind', () => {
    const backend = new DiskBackend({ directory: next() })
    backend.set('seed', bytes('s'), undefined) // the subdirectories exist
    failing('writeFileSync', 'ENOSPC')
    const error = (() => {
      try {
        backend.set('key', bytes('v'), undefined)
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(BackendError)
    expect((error as Error).message).toMatch(/is full: free some space, set a lower maxBytes/)
    vi.restoreAllMocks()
    expect(groupFiles(backend.directory).some((file) => file.endsWith('.tmp'))).toBe(false)
    expect(backend.get('key')).toBeUndefined()
    backend.close()
  })

  it('EACCES on the lock file: BackendUnavailableError, fix permissions or choose another directory', () => {
    const backend = new DiskBackend({ directory: next() })
    failing('openSync', 'EACCES', Infinity, /\.lock$/)
    expect(() => backend.set('key', bytes('v'), undefined)).toThrow(BackendUnavailableError)
    expect(() => backend.set('key', bytes('v'), undefined)).toThrow(
      /cannot write in .*\(EACCES\): give this process write access/,
    )
    backend.close()
  })

  it('EACCES on the directory itself: refused at construction', () => {
    vi.spyOn(fs, 'mkdirSync').mockImplementation(() => {
      throw systemError('EACCES', 'mkdir')
    })
    expect(() => new DiskBackend({ directory: next() })).toThrow(BackendUnavailableError)
  })

  it('EPERM on rename once (Windows: a reader holds the file): retried, the write succeeds', () => {
    const backend = new DiskBackend({ directory: next() })
    backend.set('key', bytes('old'), undefined)
    const rename = failing('renameSync', 'EPERM', 2)
    backend.set('key', bytes('new'), undefined)
    expect(rename).toHaveBeenCalledTimes(3)
    expect(text(backend.get('key'))).toBe('new')
    backend.close()
  })

  it('EPERM on rename that persists: a typed error, the old value intact, no temp file left', () => {
    const backend = new DiskBackend({ directory: next() })
    backend.set('key', bytes('old'), undefined)
    failing('renameSync', 'EPERM')
    expect(() => backend.set('key', bytes('new'), undefined)).toThrow(RapideError)
    vi.restoreAllMocks()
    expect(text(backend.get('key'))).toBe('old')
    expect(groupFiles(backend.directory).some((file) => file.endsWith('.tmp'))).toBe(false)
    backend.close()
  })

  it('a lock held by a live process past busyTimeout: BackendTimeoutError', () => {
    const directory = next()
    const backend = new DiskBackend({ directory, busyTimeout: '50ms' })
    backend.set('key', bytes('v'), undefined)
    const [file] = groupFiles(directory)
    // A live holder: this very process's pid (another thread, as far as the lock can tell).
    fs.writeFileSync(`${file}.lock`, `${process.pid} ${hostname()} x`)
    const started = Date.now()
    expect(() => backend.set('key', bytes('w'), undefined)).toThrow(BackendTimeoutError)
    expect(Date.now() - started).toBeLessThan(1000)
    fs.unlinkSync(`${file}.lock`)
    backend.close()
  })

  it('a lock left by a process that ended is broken at once; one older than lockTimeout too', () => {
    const directory = next()
    const backend = new DiskBackend({ directory, lockTimeout: '1s' })
    backend.set('key', bytes('v'), undefined)
    const [file] = groupFiles(directory)
    fs.writeFileSync(`${file}.lock`, `999999999 ${hostname()} x`)
    backend.set('key', bytes('after a dead holder'), undefined)
    expect(text(backend.get('key'))).toBe('after a dead holder')
    fs.writeFileSync(`${file}.lock`, 'another-host-holder')
    const old = new Date(Date.now() - 5000)
    fs.utimesSync(`${file}.lock`, old, old)
    backend.set('key', bytes('after a stale lock'), undefined)
    expect(text(backend.get('key'))).toBe('after a stale lock')
    expect(fs.existsSync(`${file}.lock`)).toBe(false)
    backend.close()
  })
})

describe('the error policy decides', () => {
  function cacheWith(onError: 'silent' | 'raise') {
    const backend = new DiskBackend({ directory: next() })
    const errors: unknown[] = []
    const cache = createCache({ domainKey: 'ERRORS', backend, onError })
    cache.on('error', (event) => errors.push(event))
    let calls = 0
    const double = cache.wrap('DOUBLE', (n: number) => {
      calls++
      return n * 2
    })
    return { cache, double, errors, calls: () => calls }
  }

  // A new group's file is linked into place; an existing one is replaced by a rename: `existing` makes the
  // failing write a rewrite (the result computed once, then its domain invalidated).
  for (const [code, fn, existing] of [
    ['ENOSPC', 'writeFileSync', false],
    ['EACCES', 'openSync', false],
    ['EPERM', 'linkSync', false],
    ['EPERM', 'renameSync', true],
  ] as const) {
    it(`${code} on ${fn}${existing ? ' (a rewrite)' : ''}: silent computes through and reports; raise throws the typed error`, () => {
      const silent = cacheWith('silent')
      silent.double(0) // directories made
      if (existing) {
        silent.double(21)
        silent.cache.invalidateDomain()
      }
      const before = silent.calls()
      failing(fn, code)
      expect(silent.double(21)).toBe(42)
      expect(silent.double(21)).toBe(42)
      expect(silent.calls() - before).toBe(2)
      expect(silent.errors.length).toBeGreaterThan(0)
      vi.restoreAllMocks()
      void silent.cache.close()

      const raise = cacheWith('raise')
      raise.double(0)
      if (existing) {
        raise.double(21)
        raise.cache.invalidateDomain()
      }
      failing(fn, code)
      expect(() => raise.double(21)).toThrow(RapideError)
      vi.restoreAllMocks()
      void raise.cache.close()
    })
  }
})

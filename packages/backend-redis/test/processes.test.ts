import { type ChildProcess, fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { createCache } from '@rapide/core'
import { describe, expect, inject, it } from 'vitest'
import { RedisBackend } from '../src/index.js'

/** Several processes sharing one Redis (the fixtures import the built package, `dist/`). */
const fixtures = join(import.meta.dirname, 'fixtures')
const url = inject('redisUrl')
const clusterUrls = inject('redisClusterUrls')

function message(child: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as Record<string, unknown>))
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before answering`)))
  })
}

const targets = [
  ['standalone', url],
  ['cluster', clusterUrls?.join(',')],
] as const

for (const [label, target] of targets) {
  describe.skipIf(!target)(`processes sharing one Redis (${label})`, () => {
    const backendFor = () =>
      new RedisBackend({
        url: label === 'cluster' ? target!.split(',') : target!,
        cluster: label === 'cluster',
      })

    it('an invalidation in one process is seen by the very next call in another, at every level', async () => {
      const domainKey = `peers-${randomUUID()}`
      const backend = backendFor()
      const cache = createCache({ domainKey, backend, onError: 'raise' })
      let computations = 0
      const readTruth = cache.wrap('READ_TRUTH', async (id: number) => {
        computations++
        return cache.get<number>(`truth:${id}`)
      })
      const peer = fork(join(fixtures, 'peer.mjs'), [target!, domainKey, label])
      try {
        expect(await message(peer)).toEqual({ ready: true })
        let value = 0
        for (const level of ['result', 'function', 'domain']) {
          value++
          const done = message(peer)
          peer.send({ id: 1, value, level })
          expect(await done).toEqual({ done: value })
          expect(await readTruth(1)).toBe(value)
          expect(await readTruth(1)).toBe(value) // and cached again
        }
        expect(computations).toBe(3)
      } finally {
        peer.send({ exit: true })
        await cache.close()
        await backend.close()
      }
    })

    async function stampede(lock: boolean, processes: number) {
      const domainKey = `stampede-${randomUUID()}`
      const children = Array.from({ length: processes }, () =>
        fork(join(fixtures, 'stampede.mjs'), [target!, domainKey, lock ? 'lock' : 'none']),
      )
      try {
        await Promise.all(children.map(message))
        const answers = children.map(message)
        for (const child of children) child.send({ go: true })
        return (await Promise.all(answers)) as { value: { n: number; by: number }; computed: number }[]
      } finally {
        for (const child of children) if (child.exitCode === null) child.kill()
      }
    }

    it('with the lock, exactly one of six processes computes a cold key under a stampede', async () => {
      const answers = await stampede(true, 6)
      expect(answers.map((a) => a.computed).reduce((a, b) => a + b)).toBe(1)
      // Everybody got the one computed value.
      const by = answers.find((a) => a.computed === 1)!.value.by
      for (const answer of answers) expect(answer.value).toEqual({ n: 42, by })
    })

    it('without the lock, several processes compute it (what the lock prevents)', async () => {
      const answers = await stampede(false, 6)
      expect(answers.map((a) => a.computed).reduce((a, b) => a + b)).toBeGreaterThan(1)
    })
  })
}

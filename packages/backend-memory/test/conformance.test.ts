import { runBackendConformance } from '@rapide/conformance'
import { MemoryBackend } from '../src/index.js'

runBackendConformance({ name: 'memory', create: () => new MemoryBackend() })

// Under a byte bound every write is measured first: the same contract must hold.
runBackendConformance({ name: 'memory (maxBytes)', create: () => new MemoryBackend({ maxBytes: 64 << 20 }) })

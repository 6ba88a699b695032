import { MemoryBackend } from '@rapide/backend-memory'
import { runBackendConformance } from '../src/index.js'

runBackendConformance({ name: 'memory', create: () => new MemoryBackend() })

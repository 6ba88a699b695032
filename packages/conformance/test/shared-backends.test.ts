import { randomBytes } from 'node:crypto'
import { runBackendConformance } from '../src/index.js'
import { FullSharedMapBackend, SharedMapBackend } from './fixtures/shared-map-backend.js'

// A minimal asynchronous shared backend (three methods plus keys): the core's fallbacks at work.
const minimalStore = randomBytes(4).toString('hex')
runBackendConformance({ name: 'minimal shared async', create: () => new SharedMapBackend(minimalStore) })

// The same store with every optional method.
const fullStore = randomBytes(4).toString('hex')
runBackendConformance({ name: 'full shared async', create: () => new FullSharedMapBackend(fullStore) })

import { randomBytes } from 'node:crypto'
import { runBackendConformance } from '../src/index.js'
import { FullSharedMapBackend, SharedMapBackend } from './fixtures/shared-map-backend.js'

// A minimal asynchronous shared backend (the three required methods): the core's fallbacks and refusals
// at work.
const minimalStore = randomBytes(4).toString('hex')
runBackendConformance({ name: 'minimal shared async', create: () => new SharedMapBackend(minimalStore) })

// The same store with every optional group, setGuarded, ping and close.
const fullStore = randomBytes(4).toString('hex')
runBackendConformance({ name: 'full shared async', create: () => new FullSharedMapBackend(fullStore) })

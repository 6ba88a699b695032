import { runBackendConformance } from '../src/index.js'
import { LocalMapBackend } from './fixtures/local-map-backend.js'

// A synchronous store of live values with every group and a scoped view (what the memory backend is,
// whose own run is in its package): local coordination, no serialization.
runBackendConformance({ name: 'local map', create: () => new LocalMapBackend() })

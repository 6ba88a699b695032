export { estimateSize } from './estimate-size.js'
export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js'

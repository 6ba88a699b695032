import { runBackendConformance } from '@rapide/conformance'
import { Keyv } from 'keyv'
import { KeyvBackend } from '../src/index.js'
import { SlowAsyncStore } from './fixtures.js'

// The whole kit again over a store Keyv reaches through its bridge adapter (relative TTLs, an
// iterator(namespace), a serializer producing strings), as the ecosystem's database adapters are.
runBackendConformance({
  name: 'keyv over a bridged asynchronous store',
  create: () => new KeyvBackend({ keyv: new Keyv({ store: new SlowAsyncStore(0), namespace: 'rapide' }) }),
})

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

export interface Customer {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly updatedAt: string
}

const FIRST_NAMES = [
  'Anna',
  'Bethany',
  'Chidi',
  'Dmitri',
  'Esther',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
]

/**
 * The service's own data: customers in a SQLite file. Reads are made slow on purpose (`readDelayMs`,
 * like a query to a busy remote database), which is what the cache is there to save.
 */
export class CustomerStore {
  private readonly db: Database.Database

  constructor(
    path: string,
    private readonly readDelayMs: number,
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS customers (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      email TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`)
  }

  /** Fills an empty table with `count` sample customers (ids 1…count); returns how many it added. */
  seed(count = 100): number {
    const { n } = this.db.prepare('SELECT count(*) AS n FROM customers').get() as { n: number }
    if (n > 0) return 0
    const insert = this.db.prepare('INSERT INTO customers (id, name, email, updated_at) VALUES (?, ?, ?, ?)')
    const now = new Date().toISOString()
    this.db.transaction(() => {
      for (let id = 1; id <= count; id++) {
        const name = `${FIRST_NAMES[(id - 1) % FIRST_NAMES.length]} ${id}`
        insert.run(id, name, `customer${id}@example.com`, now)
      }
    })()
    return count
  }

  /** The slow read the cache wraps. */
  async find(id: number): Promise<Customer | undefined> {
    await new Promise((resolve) => setTimeout(resolve, this.readDelayMs))
    const row = this.db.prepare('SELECT id, name, email, updated_at FROM customers WHERE id = ?').get(id) as
      | { id: number; name: string; email: string; updated_at: string }
      | undefined
    return row && { id: row.id, name: row.name, email: row.email, updatedAt: row.updated_at }
  }

  rename(id: number, name: string): boolean {
    const result = this.db
      .prepare('UPDATE customers SET name = ?, updated_at = ? WHERE id = ?')
      .run(name, new Date().toISOString(), id)
    return result.changes > 0
  }

  create(name: string, email: string): number {
    const result = this.db
      .prepare('INSERT INTO customers (name, email, updated_at) VALUES (?, ?, ?)')
      .run(name, email, new Date().toISOString())
    return Number(result.lastInsertRowid)
  }

  deleteAll(): number {
    return this.db.prepare('DELETE FROM customers').run().changes
  }

  close(): void {
    this.db.close()
  }
}

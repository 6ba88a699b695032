import { BackendUnavailableError } from '@rapide/core'
import type { Database } from 'better-sqlite3'

/**
 * The on-disk layout this version writes. Bump it with every change to the tables below, and teach
 * {@link prepareSchema} what to do with the older layouts (a cache may always be rebuilt empty).
 */
export const SCHEMA_VERSION = 3

/**
 * What a row is to eviction, from how it was written. Eviction takes only {@link RowKind.Value} rows, and
 * the bounds count only them: evicting what live entries depend on (a function's or a domain's generation)
 * would turn every surviving result into a miss, and evicting an invalidation marker could let a late
 * computation store its result.
 */
export const RowKind = {
  /** Written by `set` or `setGuarded` (a result with its own generation, a key-value entry). */
  Value: 0,
  /**
   * Written by `setNx` or `incr`, or by `setMany` for entries the core marks `bookkeeping`: generations
   * (created with `setNx`, rewritten by invalidations), invalidation markers, locks, counters. A row stays
   * bookkeeping when a later `set` rewrites it.
   */
  Bookkeeping: 1,
} as const
export type RowKind = (typeof RowKind)[keyof typeof RowKind]

/** The table names of one cache in a database file. */
export interface TableNames {
  /**
   * Entries: a row per key, with two slots (see `key-slots.ts`): the main one (`value`, `expires_at`,
   * `written_at`, `kind`) and the guard one (`gvalue`, ...: a result's generation, in its result's row).
   * A slot holds a key while its value is not NULL. No secondary index: each one would be written by
   * every miss (the expiry sweep walks the primary key instead).
   */
  readonly entries: string
  /** Prefixes made dead by invalidations, with the time they died (see `reclaimPrefix`). */
  readonly reclaims: string
  /** `schema` → the layout version; written inside the transaction that creates the tables. */
  readonly meta: string
}

export function tableNames(table: string): TableNames {
  return { entries: table, reclaims: `${table}_reclaims`, meta: `${table}_meta` }
}

/**
 * Creates the tables, or checks and upgrades existing ones, in one `BEGIN IMMEDIATE` transaction so that
 * processes opening the file together cannot interleave. Never reads a layout it does not know:
 *
 * - no tables: created at {@link SCHEMA_VERSION};
 * - an older version: the cache tables are dropped and recreated (a cache can start empty; entries in an
 *   older layout are never misread);
 * - a newer version: refused, because another process of a newer release may be using the file;
 * - a table of that name without rapide's meta table: refused, it belongs to someone else.
 */
export function prepareSchema(db: Database, names: TableNames): void {
  db.transaction(() => {
    const version = readVersion(db, names)
    if (version === SCHEMA_VERSION) return
    if (version !== undefined && version > SCHEMA_VERSION) {
      throw new BackendUnavailableError(
        `The cache tables "${names.entries}" in ${db.name} were written by a newer @rapide/backend-sqlite ` +
          `(layout ${version}; this version reads up to ${SCHEMA_VERSION}). Upgrade this process, or give it another path or table.`,
      )
    }
    if (version === undefined && tableExists(db, names.entries)) {
      throw new BackendUnavailableError(
        `${db.name} has a table "${names.entries}" that rapide did not create. Pick another \`table\` name.`,
      )
    }
    db.exec(`
      DROP TABLE IF EXISTS "${names.entries}";
      DROP TABLE IF EXISTS "${names.reclaims}";
      CREATE TABLE IF NOT EXISTS "${names.meta}" (name TEXT PRIMARY KEY, value ANY) STRICT, WITHOUT ROWID;
      CREATE TABLE "${names.entries}" (
        key TEXT PRIMARY KEY,
        value BLOB, expires_at INTEGER, written_at INTEGER, kind INTEGER,
        gvalue BLOB, gexpires_at INTEGER, gwritten_at INTEGER, gkind INTEGER
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE "${names.reclaims}" (prefix TEXT PRIMARY KEY, dead_before INTEGER NOT NULL) STRICT, WITHOUT ROWID;
    `)
    db.prepare(`INSERT OR REPLACE INTO "${names.meta}" (name, value) VALUES ('schema', ?)`).run(
      SCHEMA_VERSION,
    )
  }).immediate()
}

function readVersion(db: Database, names: TableNames): number | undefined {
  if (!tableExists(db, names.meta)) return undefined
  const row = db.prepare(`SELECT value FROM "${names.meta}" WHERE name = 'schema'`).get() as
    | { value: unknown }
    | undefined
  const version = Number(row?.value)
  return Number.isInteger(version) ? version : 0
}

function tableExists(db: Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) !== undefined
}

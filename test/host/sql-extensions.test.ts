// The extensions a PostgreSQL init script creates, read from the original project's sql/init.sql.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createdExtensions } from '../../src/host/sql-extensions.js';
import { REPO_ROOT } from '../helpers/paths.js';

describe('createdExtensions', () => {
  it('reads the shipped init script (the original sql/init.sql)', () => {
    const sql = readFileSync(join(REPO_ROOT, 'configs', 'postgres', 'init.sql'), 'utf8');
    expect(createdExtensions(sql)).toEqual(['uuid-ossp', 'vector']);
  });

  it('takes bare and quoted names once, and skips comments and string literals', () => {
    const sql = [
      '-- CREATE EXTENSION postgis;',
      '/* create extension hstore; */',
      "SELECT 'CREATE EXTENSION citext';",
      'create extension if not exists PG_TRGM;',
      'CREATE EXTENSION "uuid-ossp" SCHEMA public;',
      'CREATE EXTENSION vector; CREATE EXTENSION IF NOT EXISTS "vector";',
    ].join('\n');
    expect(createdExtensions(sql)).toEqual(['pg_trgm', 'uuid-ossp', 'vector']);
  });
});

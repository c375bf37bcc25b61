import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { COMMANDS, defineScripts, scriptSource, type CommandName } from './scripts.ts';
import { MAX_USAGE_FIELDS_PER_HOUR } from './usage/usage-store.ts';
import { TENANT_JOBS_KEEP_MS } from './tenants/tenant-jobs.ts';

const names = Object.keys(COMMANDS) as CommandName[];
const raw = (file: string): string => readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');

describe('Lua scripts', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(() => redis.disconnect());

  it('has one command per script file, each naming as many KEYS in its header as the table says', () => {
    const files = readdirSync(new URL('./lua/', import.meta.url)).filter((name) => name.endsWith('.lua'));
    expect(names.map((name) => COMMANDS[name].file).sort()).toEqual(files.sort());
    for (const name of names) {
      const header = /^-- KEYS: (.+)$/m.exec(raw(COMMANDS[name].file));
      expect(header?.[1]?.split(',').length, name).toBe(COMMANDS[name].keys);
      expect(raw(COMMANDS[name].file), name).toMatch(/^-- ARGV: /m);
    }
  });

  it('expands includes, each once, and every script compiles', async () => {
    for (const name of names) {
      const source = scriptSource(COMMANDS[name].file);
      expect(source, name).not.toMatch(/^--!include/m);
      expect(await redis.script('LOAD', source), name).toMatch(/^[0-9a-f]{40}$/);
    }
    const succeed = scriptSource('job-succeed.lua');
    expect(succeed.match(/local function check_job_guard/g)).toHaveLength(1);
    expect(scriptSource('job-transition.lua')).toContain(raw('includes/job-guard.lua'));
    expect(succeed).toContain(raw('includes/job-guard.lua'));
  });

  it('counts usage fields against the cap the TypeScript side names', () => {
    expect(raw('includes/usage-add.lua')).toContain(`local MAX_USAGE_FIELDS_PER_HOUR = ${MAX_USAGE_FIELDS_PER_HOUR}\n`);
  });

  it("keeps a tenant's sets of jobs as long as the TypeScript side does", () => {
    expect(raw('includes/tenant-jobs.lua')).toContain(`local TENANT_JOBS_KEEP_MS = ${TENANT_JOBS_KEEP_MS}\n`);
  });

  it('defines the commands once per connection', () => {
    const connection = new Redis({ lazyConnect: true });
    let defined = 0;
    const define = connection.defineCommand.bind(connection);
    connection.defineCommand = (name, definition) => {
      defined += 1;
      define(name, definition);
    };
    expect(defineScripts(connection)).toBe(defineScripts(connection));
    expect(defined).toBe(names.length);
    expect(typeof defineScripts(connection).sluiceJobSucceed).toBe('function');
    connection.disconnect();
  });
});

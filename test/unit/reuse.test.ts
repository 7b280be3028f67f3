import { describe, expect, it } from 'vitest';
import { prefetchAnswers } from '../../src/effects/config-prefetch.js';
import { parseEffectiveConfig } from '../../src/plan/effective.js';
import {
  configDigest,
  creationKey,
  recordStep,
  stepUnchanged,
  type ListedContainer,
} from '../../src/plan/reuse.js';
import type { CreateStep } from '../../src/plan/start.js';

const step: CreateStep = {
  services: ['db', 'web'],
  args: ['-p', 'x', 'up', '--no-start', '--no-deps', 'db', 'web'],
};
const document = {
  name: 'x',
  services: {
    db: { image: 'postgres:16' },
    web: { image: 'nginx:1', deploy: { replicas: 2 } },
    builder: { build: { context: '.' } },
  },
};
const effective = parseEffectiveConfig(document);
const key = creationKey(configDigest(document), '2.26.1', step);
const images = new Map([
  ['postgres:16', 'sha256:pg'],
  ['nginx:1', 'sha256:ng'],
]);
const listed: ListedContainer[] = [
  { id: 'd1', service: 'db', state: 'exited', imageId: 'sha256:pg' },
  { id: 'w1', service: 'web', state: 'exited', imageId: 'sha256:ng' },
  { id: 'w2', service: 'web', state: 'created', imageId: 'sha256:ng' },
];
const record = recordStep({}, step, key, listed);

describe('a create step compose would have nothing to do for', () => {
  it('is skipped when every container is the one compose left, with the same configuration', () => {
    expect(record).toEqual({ db: { key, containers: ['d1'] }, web: { key, containers: ['w1', 'w2'] } });
    expect(stepUnchanged(step, key, record, listed, effective, images)).toBe(true);
  });

  it('runs when the configuration, the compose version or the services created together differ', () => {
    const changed = { ...document, services: { ...document.services, db: { image: 'postgres:17' } } };
    expect(creationKey(configDigest(changed), '2.26.1', step)).not.toBe(key);
    expect(creationKey(configDigest(document), '2.27.0', step)).not.toBe(key);
    const alone = { services: ['db'], args: ['-p', 'x', 'up', '--no-start', '--no-deps', 'db'] };
    expect(creationKey(configDigest(document), '2.26.1', alone)).not.toBe(key);
    const otherKey = creationKey(configDigest(changed), '2.26.1', step);
    expect(stepUnchanged(step, otherKey, record, listed, effective, images)).toBe(false);
  });

  it('runs when a container went away, was added, or is being removed', () => {
    const without = listed.filter((container) => container.id !== 'w2');
    expect(stepUnchanged(step, key, record, without, effective, images)).toBe(false);
    const extra = [...listed, { id: 'w3', service: 'web', state: 'exited', imageId: 'sha256:ng' }];
    expect(stepUnchanged(step, key, record, extra, effective, images)).toBe(false);
    const replaced = listed.map((c) => (c.id === 'd1' ? { ...c, id: 'd9' } : c));
    expect(stepUnchanged(step, key, record, replaced, effective, images)).toBe(false);
    const removing = listed.map((c) => (c.id === 'd1' ? { ...c, state: 'removing' } : c));
    expect(stepUnchanged(step, key, record, removing, effective, images)).toBe(false);
  });

  it('runs when an image reference names another image now, or none', () => {
    const retagged = new Map([...images, ['nginx:1', 'sha256:newer']]);
    expect(stepUnchanged(step, key, record, listed, effective, retagged)).toBe(false);
    const missing = new Map([['postgres:16', 'sha256:pg']]);
    expect(stepUnchanged(step, key, record, listed, effective, missing)).toBe(false);
  });

  it('runs for services compose pulls or builds for, and for ones nothing was recorded for', () => {
    const always = parseEffectiveConfig({
      services: { ...document.services, db: { image: 'postgres:16', pull_policy: 'always' } },
    });
    expect(stepUnchanged(step, key, record, listed, always, images)).toBe(false);
    const built: CreateStep = { services: ['builder'], args: ['up', 'builder'] };
    const builtKey = creationKey(configDigest(document), '2.26.1', built);
    const builtListed = [{ id: 'b1', service: 'builder', state: 'exited', imageId: 'sha256:b' }];
    const builtRecord = recordStep({}, built, builtKey, builtListed);
    expect(stepUnchanged(built, builtKey, builtRecord, builtListed, effective, images)).toBe(false);
    expect(stepUnchanged(step, key, {}, listed, effective, images)).toBe(false);
  });
});

describe('a compose config run started ahead', () => {
  const invocation = {
    command: ['/usr/libexec/docker/cli-plugins/docker-compose'],
    args: ['-p', 'x'],
    withheld: [],
  };
  const env = { PATH: '/usr/bin', HOME: '/root' };

  it('answers start only when it asked the same: program, arguments and environment', () => {
    expect(prefetchAnswers({ invocation, env }, invocation.command, ['-p', 'x'], { ...env })).toBe(true);
    expect(prefetchAnswers({ invocation, env }, ['/usr/bin/docker', 'compose'], ['-p', 'x'], env)).toBe(
      false,
    );
    expect(
      prefetchAnswers({ invocation, env }, invocation.command, ['-p', 'x', '-f', 'extra.yml'], env),
    ).toBe(false);
    expect(
      prefetchAnswers({ invocation, env }, invocation.command, ['-p', 'x'], { ...env, HOME: '/home/u' }),
    ).toBe(false);
    expect(
      prefetchAnswers({ invocation, env }, invocation.command, ['-p', 'x'], { ...env, EXTRA: '1' }),
    ).toBe(false);
    expect(prefetchAnswers({ invocation, env }, invocation.command, ['-p', 'x'], { PATH: '/usr/bin' })).toBe(
      false,
    );
  });
});

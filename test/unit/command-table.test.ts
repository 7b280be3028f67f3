// A run naming a command registers its group alone (src/cli/program.ts): the table must say exactly
// which top-level commands each group registers, or a command would go missing from its own run.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_GROUPS, namedGroup, type ProcessIO } from '../../src/cli/program.js';

const io: ProcessIO = {
  cwd: process.cwd(),
  env: {},
  stdout: process.stdout,
  stderr: process.stderr,
  stdinIsTTY: false,
  signal: new AbortController().signal,
};
const names = (program: Command): string[] => program.commands.map((command) => command.name());

describe('the command table', () => {
  it('names exactly the top-level commands each group registers', () => {
    for (const [register, listed] of COMMAND_GROUPS) {
      const program = new Command('stackctl');
      register(program, () => {
        throw new Error('not run');
      });
      expect(names(program), register.name).toEqual(listed);
    }
  });

  it('registers every group (and completion) when no command is named, in the order the help lists', () => {
    expect(names(buildProgram(io))).toEqual([
      ...COMMAND_GROUPS.flatMap(([, listed]) => listed),
      'completion',
    ]);
    expect(names(buildProgram(io, ['--help']))).toContain('completion');
    // A mistyped command finds no group: the whole table is there for its did-you-mean.
    expect(names(buildProgram(io, ['valdate']))).toContain('validate');
  });

  it('registers only the group of the command a run names, after global options', () => {
    expect(names(buildProgram(io, ['-v', '--no-color', 'restore', 'dev']))).toEqual([
      'backup',
      'restore',
      'retention',
      'schedule',
    ]);
    expect(namedGroup(['validate', '--json'])?.[1]).toEqual(['validate']);
    expect(namedGroup(['--version'])).toBeUndefined();
  });
});

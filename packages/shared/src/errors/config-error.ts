import { SluiceError } from './sluice-error.ts';

/** A config file that cannot be used; `problems` lists every issue by path. */
export class ConfigError extends SluiceError {
  readonly problems: string[];

  constructor(source: string, problems: string[]) {
    super(`invalid config ${source}:\n  ${problems.join('\n  ')}`, { code: 'invalid_config' });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

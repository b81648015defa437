// The Dockerfile front end: parsing (raw words), expansion at build time, and .dockerignore. This
// folder is pure: no file system, no processes, no network; the builder feeds it text and variables.

export * from './types.ts';
export { parseDockerfile } from './parse.ts';
export {
  expandWord,
  expandWords,
  expandHeredocContent,
  ExpandError,
  EXPANDING_INSTRUCTIONS,
  EXPANDED_FLAGS,
  type ExpandEnv,
  type ExpandOptions,
} from './expand.ts';
export { flagBool, flagString, flagStrings } from './flags.ts';
export { parseGoDuration, DurationError } from './duration.ts';
export { parseDockerignore, IgnoreMatcher, IgnorePatternError } from './dockerignore.ts';
export { checkGlobSyntax, compileIgnorePattern } from './ignore-pattern.ts';

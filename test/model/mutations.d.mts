// Types for mutations.mjs (plain JavaScript, run by `npm run model:mutations`; model-interface.test.ts imports it).
export interface Mutation {
  /** What the safeguard is. */
  readonly name: string;
  /** The file, from the repository root, whose line the mutation changes. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** The model scenario that must fail without the safeguard. */
  readonly scenario: string;
}
export declare const mutations: readonly Mutation[];
/** The mutations whose line to change is not in the source exactly once. */
export declare function staleMutations(): Mutation[];

// A module with no default export: spawn(moduleUrl) must reject it with a clear error (validation.test.ts).
export const notTheDefault = () => 1;

/** See compiled.js. */
export declare function compiledEntry(path: string, projectDir?: string): URL | null;

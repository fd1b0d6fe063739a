export const EMBEDDED_TEMPLATE = new URL('../../.tmp/pglite-template.tar', import.meta.url);
export const FIXTURES = new URL('../fixtures/', import.meta.url);
